from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The patient's pages: the public application form and the private portal (SPEC §7)."""

    name = "portal"
    verbose_name = "Patient portal"

    def ready(self) -> None:
        from portal.erasure import end_patient_sessions
        from workflow.signals import patient_erased

        patient_erased.connect(end_patient_sessions, dispatch_uid="portal.end_patient_sessions")
