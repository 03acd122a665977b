from __future__ import annotations

from django.apps import AppConfig


class SecurityConfig(AppConfig):
    """Cross-cutting protections: login lockout, expiring API tokens, response headers (docs/security.md)."""

    name = "security"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from security import signals  # noqa: F401  (connects the receivers)
