from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import models

from workflow.uploads import upload_to, validate_upload

# How much of the consent text the consent-form email quotes before pointing to the portal.
OPENING_CHARS = 600


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ConsentDocument(models.Model):
    """One version of the informed-consent form in one language (SPEC §5)."""

    version = models.PositiveIntegerField()
    language = models.CharField(max_length=8)
    title = models.CharField(max_length=200)
    text = models.TextField()
    sha256 = models.CharField(max_length=64, editable=False)
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version", "language"]
        constraints = [models.UniqueConstraint(fields=["version", "language"], name="one_consent_per_version_lang")]

    def __str__(self) -> str:
        return f"v{self.version} ({self.language}) {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.sha256 = sha256_of(self.text)
        super().save(*args, **kwargs)

    @property
    def opening(self) -> str:
        """The first lines of the text, about `OPENING_CHARS` long, for an email that links to the whole."""
        lines: list[str] = []
        for line in self.text.strip().splitlines():
            if sum(len(kept) + 1 for kept in lines) + len(line) > OPENING_CHARS and lines:
                return "\n".join([*lines, "…"])
            lines.append(line)
        return "\n".join(lines)


class ConsentSignature(models.Model):
    class Method(models.TextChoices):
        PORTAL = "portal", "Portal e-signature"
        PAPER = "paper", "Paper form recorded by staff"

    application = models.ForeignKey("workflow.Application", on_delete=models.CASCADE, related_name="signatures")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="signatures")
    # Copied from the document so that the record stands even if the document row is edited.
    document_version = models.PositiveIntegerField()
    document_sha256 = models.CharField(max_length=64)
    signer_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    method = models.CharField(max_length=8, choices=Method.choices)
    scan = models.FileField(upload_to=upload_to, blank=True, validators=[validate_upload])
    # The PDF frozen at a portal e-signature: what was signed, by whom, when and from where (SPEC §5).
    pdf = models.FileField(upload_to=upload_to, blank=True, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-signed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.signer_name}, v{self.document_version}, {self.method}"
