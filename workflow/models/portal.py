from __future__ import annotations

from django.conf import settings
from django.db import models


class PortalLink(models.Model):
    """A private link to one application's patient portal (SPEC §7, §11).

    The token itself is never stored: only its SHA-256, so a copy of the database opens nothing.
    """

    application = models.ForeignKey("workflow.Application", on_delete=models.CASCADE, related_name="portal_links")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # The staff member who sent it, or null when an email or the patient's own request made it.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Revoking all of an application's live links (workflow.services.portal.portal_links_revoke).
            models.Index(fields=["application", "expires_at"], name="portal_links_by_application"),
        ]

    def __str__(self) -> str:
        return f"portal link {self.pk} of application {self.application_id}"
