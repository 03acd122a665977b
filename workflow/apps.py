from __future__ import annotations

from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "workflow"
    default_auto_field = "django.db.models.BigAutoField"
