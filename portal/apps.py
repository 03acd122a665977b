from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The patient's pages: the public application form and the private portal (SPEC §7)."""

    name = "portal"
    verbose_name = "Patient portal"
