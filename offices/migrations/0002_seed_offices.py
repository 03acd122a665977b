from datetime import time

from django.db import migrations

OFFICES = [
    {
        "code": "delhi",
        "name": "Delhi",
        "timezone": "Asia/Kolkata",
        "working_weekdays": [0, 1, 2, 3, 4, 5],
        "opens_at": time(9, 30),
        "closes_at": time(18, 30),
        "holiday_country": "IN",
        "holiday_subdivision": "DL",
        "currency": "INR",
        "reply_sla_days": 2,
        "email": "delhi@clinic.example",
    },
    {
        "code": "europe",
        "name": "Europe",
        "timezone": "Europe/Berlin",
        "working_weekdays": [0, 1, 2, 3, 4],
        "opens_at": time(9, 0),
        "closes_at": time(17, 0),
        "holiday_country": "DE",
        "holiday_subdivision": "",
        "currency": "EUR",
        "reply_sla_days": 2,
        "email": "europe@clinic.example",
    },
]


def seed(apps, schema_editor):
    Office = apps.get_model("offices", "Office")
    for values in OFFICES:
        Office.objects.get_or_create(code=values["code"], defaults=values)


def unseed(apps, schema_editor):
    apps.get_model("offices", "Office").objects.filter(code__in=[o["code"] for o in OFFICES]).delete()


class Migration(migrations.Migration):
    dependencies = [("offices", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
