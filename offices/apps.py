from __future__ import annotations

from django.apps import AppConfig


class OfficesConfig(AppConfig):
    name = "offices"
    default_auto_field = "django.db.models.BigAutoField"
