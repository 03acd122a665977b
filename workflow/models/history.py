from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AppendOnlyQuerySet(models.QuerySet["TransitionLog"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("The history is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("The history is append-only.")


class TransitionLog(models.Model):
    """One row per transition or action on an application: who, when, from, to, with what."""

    class ActorKind(models.TextChoices):
        USER = "user", "Staff member"
        PATIENT = "patient", "Patient"
        SYSTEM = "system", "System"

    application = models.ForeignKey("workflow.Application", on_delete=models.PROTECT, related_name="history")
    action = models.CharField(max_length=40)
    from_state = models.CharField(max_length=24)
    to_state = models.CharField(max_length=24)
    actor_kind = models.CharField(max_length=8, choices=ActorKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    params = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    at = models.DateTimeField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            # The history endpoint and admin inline read one application's rows in order.
            models.Index(fields=["application", "at"], name="history_by_application"),
        ]

    def __str__(self) -> str:
        return f"{self.action}: {self.from_state} → {self.to_state}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("The history is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("The history is append-only.")

    @property
    def actor_label(self) -> str:
        if self.actor_kind == self.ActorKind.USER and self.actor is not None:
            return self.actor.get_username()
        return str(self.ActorKind(self.actor_kind).label).lower()
