from __future__ import annotations

from django.apps import AppConfig


class StaffConfig(AppConfig):
    """The staff's pages (SPEC §8): thin callers of workflow.services and workflow.selectors."""

    name = "staff"
    verbose_name = "Staff pages"
