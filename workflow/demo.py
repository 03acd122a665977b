"""Demo data for trying the product locally. Never run against production data.

Staff for both offices and every role, and applications in every state in both offices. Each
application is walked to its state through `workflow.services`, as of instants in the past, so its
history, conversation, quotes, consent and reply obligations are what real use would leave behind.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from offices.models import Office
from offices.promise import reply_budget
from offices.roles import Role
from offices.services import staff_add
from workflow import services, sla
from workflow.actors import Actor
from workflow.models import Application, FollowUpReview, MonitoringCheck
from workflow.services.aftercare_sweeps import aftercare_sweep

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - a published demo credential, see README

# (username, {office: role})
DEMO_STAFF: list[tuple[str, dict[str, str]]] = [
    *[(f"{office}.{role}", {office: str(role)}) for office in ("delhi", "europe") for role in Role],
    ("network.manager", {"delhi": str(Role.MANAGER), "europe": str(Role.MANAGER)}),
]

# Demo patients write from this reserved domain; it is also how a loaded demo is recognised.
PATIENT_DOMAIN = "patients.example"

SLE = "Systemic lupus erythematosus (SLE)"
MS = "Multiple sclerosis (relapsing-remitting)"
RA = "Rheumatoid arthritis"
SSC = "Systemic sclerosis"


@dataclass(frozen=True)
class Case:
    office: str
    state: str
    full_name: str
    sex: str
    country: str
    condition: str
    born: date
    diagnosed: date
    medications: str
    history: str
    language: str = "en"
    sla: str = sla.ON_TRACK  # for `received`: how much of the reply budget is already used
    assigned: bool = True
    conversation: bool = False  # a question after the review, answered
    open_question: bool = False  # a later question still waiting for a reply, due soon
    by_phone: bool = False  # entered by staff with the real time received
    records: bool = False
    # How the patient answers each follow-up review (months -> portal, phone, corrected, or skip: missed).
    reviews: tuple[tuple[int, str], ...] = ()
    concern: bool = False  # the 48 h monitoring check finds a concern


CASES: list[Case] = [
    # Delhi
    Case("delhi", "received", "Ananya Iyer", "female", "IN", SLE, date(1990, 3, 14), date(2017, 8, 1),
         "Hydroxychloroquine 200 mg twice daily; prednisolone 7.5 mg", "Lupus nephritis class IV (2019), "
         "induction with mycophenolate.", records=True),
    Case("delhi", "received", "Farhana Akter", "female", "BD", SLE, date(1994, 11, 2), date(2020, 1, 15),
         "Hydroxychloroquine 200 mg; azathioprine 100 mg", "Recurrent arthritis and malar rash; two flares in 2025.",
         sla=sla.DUE_SOON),
    Case("delhi", "received", "Rajesh Thapa", "male", "NP", RA, date(1978, 6, 30), date(2012, 4, 1),
         "Methotrexate 15 mg weekly; folic acid", "Erosive disease of both hands; failed two biologics.",
         sla=sla.BREACHED, assigned=False, by_phone=True),
    Case("delhi", "medically_reviewed", "Nimali Perera", "female", "LK", SLE, date(1987, 9, 9), date(2015, 2, 10),
         "Hydroxychloroquine 300 mg; belimumab monthly", "Serositis 2018; thrombocytopenia 2022.", conversation=True),
    Case("delhi", "quoted", "Omar Al-Mansoori", "male", "AE", MS, date(1983, 1, 21), date(2016, 5, 5),
         "Ocrelizumab every 6 months", "EDSS 4.0; two relapses in the last 18 months."),
    Case("delhi", "admitted", "Grace Wanjiru", "female", "KE", SLE, date(1992, 7, 18), date(2018, 10, 3),
         "Hydroxychloroquine; prednisolone 10 mg; mycophenolate 2 g", "Lupus nephritis class III; cutaneous lupus."),
    Case("delhi", "discharged", "Chinedu Okafor", "male", "NG", SSC, date(1980, 12, 5), date(2019, 3, 12),
         "Mycophenolate 2 g; nifedipine", "Diffuse cutaneous disease; interstitial lung disease, FVC 68 %."),
    Case("delhi", "in_follow_up", "Sunita Devi", "female", "IN", SLE, date(1985, 4, 12), date(2014, 6, 1),
         "Hydroxychloroquine 200 mg", "Arthritis, photosensitivity and fatigue; no organ involvement.",
         reviews=((1, "portal"),)),
    Case("delhi", "completed", "Aisha Al-Harthy", "female", "OM", RA, date(1975, 8, 27), date(2010, 9, 9),
         "Tofacitinib 5 mg twice daily", "Seropositive RA; right knee replacement 2021.",
         reviews=((1, "portal"), (3, "portal"), (6, "corrected"), (12, "phone"), (24, "portal"))),
    Case("delhi", "declined", "Imran Qureshi", "male", "PK", "Ankylosing spondylitis", date(1988, 2, 2),
         date(2013, 7, 7), "Adalimumab every two weeks", "HLA-B27 positive; uveitis twice.", assigned=False),
    Case("delhi", "withdrawn", "Lakshmi Narayanan", "female", "IN", SLE, date(1996, 5, 23), date(2021, 12, 1),
         "Hydroxychloroquine 200 mg; prednisolone 5 mg", "Mild SLE: arthritis and oral ulcers."),
    # Europe
    Case("europe", "received", "Katharina Vogel", "female", "DE", SLE, date(1989, 10, 4), date(2016, 3, 3),
         "Hydroxychloroquin 200 mg; Belimumab", "Lupusnephritis Klasse III (2020).", language="de", records=True),
    Case("europe", "received", "Jan de Vries", "male", "NL", MS, date(1981, 4, 19), date(2011, 11, 11),
         "Natalizumab every 4 weeks", "Secondary progressive since 2023; walks with one stick.",
         sla=sla.BREACHED, assigned=False, by_phone=True),
    Case("europe", "medically_reviewed", "Emily Clarke", "female", "GB", SLE, date(1991, 1, 30), date(2019, 5, 20),
         "Hydroxychloroquine 200 mg; methotrexate 15 mg weekly", "Arthritis, pleurisy in 2021, Raynaud's.",
         conversation=True),
    Case("europe", "quoted", "Agnieszka Nowak", "female", "PL", SSC, date(1979, 3, 8), date(2017, 9, 14),
         "Mycophenolate 2 g; bosentan", "Limited cutaneous disease; digital ulcers.", open_question=True),
    Case("europe", "admitted", "Lukas Gruber", "male", "AT", MS, date(1986, 12, 12), date(2014, 8, 8),
         "Ofatumumab monthly", "Relapsing MS, EDSS 3.5.", language="de"),
    Case("europe", "discharged", "Sofia Romano", "female", "IT", SLE, date(1993, 6, 6), date(2018, 1, 25),
         "Hydroxychloroquine; anifrolumab monthly", "Cutaneous and joint disease; one renal flare in 2022."),
    Case("europe", "in_follow_up", "Megan O'Brien", "female", "US", SLE, date(1984, 9, 17), date(2012, 2, 14),
         "Hydroxychloroquine 400 mg; prednisone 5 mg", "Neuropsychiatric lupus (seizure) 2019.",
         reviews=((1, "skip"), (3, "phone")), concern=True),
    Case("europe", "completed", "Carlos Ortega", "male", "ES", RA, date(1972, 11, 1), date(2008, 4, 4),
         "Baricitinib 4 mg", "Long-standing seropositive RA; anaemia of chronic disease.",
         reviews=((1, "portal"), (3, "skip"), (6, "portal"), (12, "skip"), (24, "skip"))),
    Case("europe", "declined", "Jack Thompson", "male", "AU", "Crohn's disease", date(1990, 7, 7), date(2015, 10, 10),
         "Ustekinumab every 8 weeks", "Ileocolonic disease; two resections.", assigned=False),
    Case("europe", "withdrawn", "Chloé Tremblay", "female", "CA", SLE, date(1995, 2, 28), date(2022, 6, 30),
         "Hydroxychloroquine 200 mg", "Arthritis and fatigue; positive anti-dsDNA."),
]  # fmt: skip

# How long ago (days) an application reaching each state was received, so its last step is in the past.
RECEIVED_DAYS_AGO = {
    "medically_reviewed": 2,
    "quoted": 9,
    "admitted": 16,
    "discharged": 21,
    "in_follow_up": 120,
    "completed": 790,
    "declined": 4,
    "withdrawn": 8,
}
# When each step happens, counted from the time received.
STEP = {
    "assign": timedelta(hours=2),
    "review": timedelta(days=1),
    "question": timedelta(days=1, hours=5),
    "reply": timedelta(days=1, hours=7),
    "quote": timedelta(days=3),
    "withdraw": timedelta(days=5),
    "accept": timedelta(days=6),
    "schedule": timedelta(days=6, hours=1),
    "sign": timedelta(days=13),
    "admit": timedelta(days=14),
    "discharge": timedelta(days=20),
}
QUOTE_ITEMS = {
    "INR": [("7-day MSC treatment protocol", "1150000"), ("Hospital stay, 7 nights", "175000"),
            ("Investigations and pharmacy", "45000")],
    "EUR": [("7-day MSC treatment protocol", "13800"), ("Hospital stay, 7 nights", "2100"),
            ("Investigations and pharmacy", "600")],
}  # fmt: skip
REVIEW_NOTES = (
    "Active disease despite standard therapy; no active infection or malignancy; renal and liver function "
    "adequate. Eligible for the standard 7-day protocol."
)
DECLINE_REASON = "Active untreated hepatitis B infection: treatment is not safe until it is controlled."
WITHDRAW_REASON = "The patient asked to postpone treatment for family reasons and will apply again later."
DISCHARGE_SUMMARY = (
    "Completed the protocol: one IV and three LP injections. Mild post-LP headache on day 4, resolved with "
    "rest and fluids. Discharged in good condition; monitoring calls at 24 h and 48 h."
)
QUESTION = (
    "Thank you for the review. Can my sister travel with me and stay during the seven days? "
    "Should I keep taking my medication until admission?"
)
REPLY = (
    "Yes, a companion can stay with you; we will include accommodation in the quote. Please keep taking "
    "your medication as prescribed; our physician will go through it with you on day 1."
)
NOTE = "Companion stay requested: check twin-room availability before quoting."
CONCERN_NOTE = "Headache since the last LP, worse when standing; advised rest and fluids, call again tomorrow."
# What the demo patients answer at each review: overall change (-3 … 3), fatigue, joint pain, flares.
REVIEW_ANSWERS = {1: (1, 5, 4, 1), 3: (2, 4, 3, 0), 6: (2, 3, 3, 1), 12: (1, 4, 2, 1), 24: (3, 2, 1, 0)}
OPEN_QUESTION = "The quote looks fine. Is the visa invitation letter included, and can admission be in early March?"
# A one-page PDF as the content check recognises it; enough to show a medical record in the admin.
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def seed_staff() -> list[str]:
    lines = []
    for username, memberships in DEMO_STAFF:
        for office, role in memberships.items():
            staff_add(
                username=username,
                office_code=office,
                role=role,
                email=f"{username}@clinic.example",
                password=DEMO_PASSWORD,
            )
        roles = ", ".join(f"{role} at {office}" for office, role in memberships.items())
        lines.append(f"  {username} / {DEMO_PASSWORD}  ({roles})")
    return lines


def applications_loaded() -> bool:
    return Application.objects.filter(email__endswith=f"@{PATIENT_DOMAIN}").exists()


def is_loaded() -> bool:
    return User.objects.filter(username=DEMO_STAFF[0][0]).exists() and applications_loaded()


def seed_demo(now: datetime | None = None) -> tuple[list[str], list[str]]:
    """Staff (created, or reset to the demo password) and, unless already there, the applications.

    All in one transaction: a failure leaves no half-loaded demo for `--once` to mistake for a whole one.
    """
    now = now or timezone.now()
    with transaction.atomic():
        staff = seed_staff()
        applications = [] if applications_loaded() else seed_applications(now)
    return staff, applications


def seed_applications(now: datetime) -> list[str]:
    offices = {office.code: office for office in Office.objects.all()}
    # Oldest first, so that reference numbers follow the order of arrival.
    plan = sorted(((_received_at(case, offices[case.office], now), case) for case in CASES), key=lambda p: p[0])
    applications = [_walk(case, offices[case.office], received, now) for received, case in plan]
    lines = []
    for app in sorted(applications, key=lambda a: (a.office.code, a.received_at)):
        app.refresh_from_db()
        status = sla.status(due_at=app.reply_due_at, warn_at=app.reply_warn_at, now=now) or "no reply owed"
        lines.append(f"  {app.reference}  {app.state:<18}  {status:<13}  {app.full_name}")
    return lines


def _actors(office: Office) -> dict[str, Actor]:
    return {role: Actor.staff(User.objects.get(username=f"{office.code}.{role}")) for role in Role}


def _at_local(office: Office, day: date, hour: time) -> datetime:
    return datetime.combine(day, hour, tzinfo=office.tz)


def _received_before(office: Office, now: datetime, used: timedelta) -> datetime:
    """The latest quarter hour before `now` with at least `used` working time between it and `now`."""
    calendar = office.calendar()
    at = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    for _ in range(4 * 24 * 120):
        if calendar.working_time(at, now) >= used:
            return at
        at -= timedelta(minutes=15)
    raise ValueError(f"{office.code}: no working time in the last 120 days")


def _received_at(case: Case, office: Office, now: datetime) -> datetime:
    if case.state != "received":
        day = timezone.localdate(now, office.tz) - timedelta(days=RECEIVED_DAYS_AGO[case.state])
        return _at_local(office, day, time(10, 15))
    budget = reply_budget(office)
    if case.sla == sla.BREACHED:
        return _received_before(office, now, budget + timedelta(hours=5))
    if case.sla == sla.DUE_SOON:
        # Past the 75 % warning point, with a few working hours left.
        return _received_before(office, now, budget * 0.85)
    return now - timedelta(minutes=40)


def _walk(case: Case, office: Office, received: datetime, now: datetime) -> Application:
    staff = _actors(office)
    coordinator, physician, manager = staff[Role.COORDINATOR], staff[Role.PHYSICIAN], staff[Role.MANAGER]

    def at(step: str) -> datetime:
        return min(received + STEP[step], now)

    app = _submit(case, office, received, now, coordinator)
    if case.assigned:
        assert coordinator.user is not None  # noqa: S101 - a staff actor has a user
        services.application_assign(application=app, actor=manager, user_id=coordinator.user.pk, now=at("assign"))
    if case.state == "received":
        return app
    if case.state == "declined":
        return services.application_decline(application=app, actor=physician, reason=DECLINE_REASON, now=at("review"))
    services.application_approve_review(application=app, actor=physician, review_notes=REVIEW_NOTES, now=at("review"))
    if case.conversation:
        services.message_receive(application=app, actor=Actor.patient(), body=QUESTION, now=at("question"))
        services.message_post(application=app, actor=coordinator, kind="note", body=NOTE, now=at("question"))
        services.message_post(application=app, actor=coordinator, kind="reply", body=REPLY, now=at("reply"))
    if case.state == "medically_reviewed":
        return app
    items = [{"description": d, "amount": a} for d, a in QUOTE_ITEMS[office.currency]]
    services.application_send_quote(application=app, actor=coordinator, items=items, now=at("quote"))
    if case.state == "withdrawn":
        return services.application_withdraw(
            application=app, actor=coordinator, reason=WITHDRAW_REASON, now=at("withdraw")
        )
    if case.state == "quoted":
        if case.open_question:
            asked = max(_received_before(office, now, reply_budget(office) * 0.85), at("quote") + timedelta(hours=1))
            services.message_receive(application=app, actor=Actor.patient(), body=OPEN_QUESTION, now=asked)
        return app
    return _treat(app, case, staff, at, now)


def _submit(case: Case, office: Office, received: datetime, now: datetime, coordinator: Actor) -> Application:
    ascii_name = unicodedata.normalize("NFKD", case.full_name).encode("ascii", "ignore").decode()
    first, _, last = ascii_name.lower().replace("'", "").partition(" ")
    email = f"{first}.{last.replace(' ', '')}@{PATIENT_DOMAIN}"
    details: dict[str, Any] = {
        "full_name": case.full_name,
        "email": email,
        "date_of_birth": case.born,
        "sex": case.sex,
        "country": case.country,
        "preferred_language": case.language,
        "condition": case.condition,
        "diagnosis_date": case.diagnosed,
        "current_medications": case.medications,
        "medical_history": case.history,
        "treatment_request": "The 7-day mesenchymal stem cell protocol.",
        "privacy_consent": True,
        "office": office.code,
        "documents": [SimpleUploadedFile("lab-results.pdf", PDF, "application/pdf")] if case.records else None,
    }
    if case.by_phone:
        # Taken by phone and typed in half an hour later: the clock runs from the call.
        entered = min(received + timedelta(minutes=30), now)
        return services.application_submit(actor=coordinator, received_at=received, now=entered, **details)
    return services.application_submit(actor=Actor.patient(), now=received, **details)


def _treat(
    app: Application, case: Case, staff: dict[str, Actor], at: Callable[[str], datetime], now: datetime
) -> Application:
    coordinator, physician = staff[Role.COORDINATOR], staff[Role.PHYSICIAN]
    office = app.office
    services.quote_accept(application=app, actor=coordinator, now=at("accept"))
    admission = timezone.localdate(at("admit"), office.tz)
    services.admission_schedule(application=app, actor=coordinator, admission_date=admission, now=at("schedule"))
    services.consent_sign_portal(
        application=app,
        signer_name=case.full_name,
        ip_address="203.0.113.24",
        user_agent="Mozilla/5.0 (demo)",
        now=at("sign"),
    )
    app = services.application_admit(application=app, actor=coordinator, now=at("admit"))
    if case.state == "admitted":
        return app
    discharged = timezone.localdate(at("discharge"), office.tz)
    app = services.application_discharge(
        application=app, actor=physician, discharge_date=discharged, summary=DISCHARGE_SUMMARY, now=at("discharge")
    )
    _aftercare(app, case, staff, now)
    app.refresh_from_db()
    if case.state == "completed" and app.state != "completed":
        # A 24-month window still open (short months): the manager closes the demo case.
        return services.application_complete(application=app, actor=staff[Role.MANAGER], now=now)
    return app


def _aftercare(app: Application, case: Case, staff: dict[str, Actor], now: datetime) -> None:
    """Live through the aftercare up to `now` as beat would: the sweeps at each due instant (alerts, the
    automatic start, invitations, reminders, misses, the automatic completion), and the answers between."""
    coordinator = staff[Role.COORDINATOR]
    plan = dict(case.reviews)
    steps: list[tuple[datetime, int, Callable[[], Any]]] = []

    def sweep(moment: datetime) -> Callable[[], Any]:
        return lambda: aftercare_sweep(moment)

    def answer(review: FollowUpReview, channel: str, moment: datetime, change: int = 0) -> Callable[[], Any]:
        overall, fatigue, joint_pain, flares = REVIEW_ANSWERS[review.months]
        answers = services.Answers(
            overall_change=max(-3, overall + change),
            fatigue=fatigue,
            joint_pain=joint_pain,
            flares=flares,
            current_medications=case.medications,
        )
        if channel == "portal":
            return lambda: services.review_answer_submit(
                review=review, application=app, actor=Actor.patient(), answers=answers, channel="portal", now=moment
            )
        return lambda: services.review_answer_submit(
            review=review, actor=coordinator, answers=answers, channel="phone", now=moment
        )

    def record(check: MonitoringCheck, concern: bool, moment: datetime) -> Callable[[], Any]:
        return lambda: services.monitoring_outcome_record(
            application=app,
            actor=coordinator,
            hours_after=check.hours_after,
            outcome="concern" if concern else "well",
            note=CONCERN_NOTE if concern else "",
            now=moment,
        )

    for check in app.monitoring_checks.all():
        steps.append((check.due_at, 0, sweep(check.due_at)))
        if case.state != "discharged":
            moment = check.due_at + timedelta(hours=1)
            steps.append((moment, 1, record(check, case.concern and check.hours_after == 48, moment)))
    if app.follow_up_due_at is not None:
        steps.append((app.follow_up_due_at, 0, sweep(app.follow_up_due_at)))
    for review in app.reviews.all():
        for moment in (review.invite_at, review.remind_at, review.overdue_at, review.closes_at):
            steps.append((moment, 0, sweep(moment)))
        how = plan.get(review.months, "skip")
        if how in ("portal", "corrected"):
            steps.append(
                (
                    review.invite_at + timedelta(days=2),
                    1,
                    answer(review, "portal", review.invite_at + timedelta(days=2)),
                )
            )
        if how == "corrected":
            # The patient rang to correct an answer: a second version, the first kept.
            moment = review.invite_at + timedelta(days=3)
            steps.append((moment, 1, answer(review, "phone", moment, change=-1)))
        if how == "phone":
            moment = review.invite_at + timedelta(days=5)
            steps.append((moment, 1, answer(review, "phone", moment)))
    for _moment, _order, step in sorted((s for s in steps if s[0] <= now), key=lambda s: (s[0], s[1])):
        step()
