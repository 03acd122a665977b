import hashlib

from django.db import migrations

EN_TEXT = """Informed consent to treatment with mesenchymal stem cells

1. Purpose. I have been told that the treatment is a 7-day protocol of mesenchymal stem cells given
by one intravenous injection and three lumbar puncture injections, for the condition named in my
application, and that it is offered as a treatment whose benefit is not guaranteed.
2. Procedure. Day 1: admission, this consent process, basic tests and an intravenous injection.
Days 2, 4 and 6: lumbar puncture injections. Days 3, 5 and 7: rest; discharge on day 7.
3. Risks. I have been told of the risks, including headache after lumbar puncture, infection,
bleeding, fever, allergic reaction and the unknown long-term effects of cell therapy.
4. Alternatives. I have been told of other treatments for my condition and that I may choose them.
5. Follow-up. I agree to answer follow-up questionnaires at 1, 3, 6, 12 and 24 months.
6. Voluntariness. My consent is voluntary. I may withdraw it at any time before or during
treatment without giving a reason.
7. Data. My medical data are processed for my treatment and follow-up as the privacy notice says.
By signing I confirm that I have read and understood this document and that my questions were answered.
"""

DE_TEXT = """Einwilligungserklärung zur Behandlung mit mesenchymalen Stammzellen

1. Zweck. Mir wurde erklärt, dass die Behandlung ein 7-tägiges Protokoll mit mesenchymalen
Stammzellen ist, verabreicht durch eine intravenöse Injektion und drei Lumbalpunktions-Injektionen,
für die in meinem Antrag genannte Erkrankung, und dass ein Nutzen nicht garantiert ist.
2. Ablauf. Tag 1: Aufnahme, diese Aufklärung, Basisuntersuchungen und eine intravenöse Injektion.
Tage 2, 4 und 6: Lumbalpunktions-Injektionen. Tage 3, 5 und 7: Ruhe; Entlassung an Tag 7.
3. Risiken. Mir wurden die Risiken erklärt, darunter Kopfschmerzen nach Lumbalpunktion, Infektion,
Blutung, Fieber, allergische Reaktion und die unbekannten Langzeitfolgen einer Zelltherapie.
4. Alternativen. Mir wurden andere Behandlungen meiner Erkrankung genannt, die ich wählen kann.
5. Nachsorge. Ich bin bereit, Fragebögen nach 1, 3, 6, 12 und 24 Monaten zu beantworten.
6. Freiwilligkeit. Meine Einwilligung ist freiwillig. Ich kann sie jederzeit vor oder während der
Behandlung ohne Angabe von Gründen widerrufen.
7. Daten. Meine medizinischen Daten werden für Behandlung und Nachsorge gemäß Datenschutzhinweis verarbeitet.
Mit meiner Unterschrift bestätige ich, dass ich dieses Dokument gelesen und verstanden habe und meine Fragen beantwortet wurden.
"""

DOCUMENTS = [
    (1, "en", "Informed consent to stem-cell treatment", EN_TEXT),
    (1, "de", "Einwilligung in die Stammzellbehandlung", DE_TEXT),
]


def seed(apps, schema_editor):
    ConsentDocument = apps.get_model("workflow", "ConsentDocument")
    for version, language, title, text in DOCUMENTS:
        ConsentDocument.objects.get_or_create(
            version=version,
            language=language,
            defaults={"title": title, "text": text, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()},
        )


def unseed(apps, schema_editor):
    apps.get_model("workflow", "ConsentDocument").objects.filter(version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("workflow", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
