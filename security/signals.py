"""A changed password or a disabled account ends every API token of the user (SPEC §11)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import pre_save
from django.dispatch import receiver

from security.models import ApiToken

User = get_user_model()


@receiver(pre_save, sender=User, dispatch_uid="security.revoke_tokens_on_credential_change")
def revoke_tokens_on_credential_change(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance.pk is None:
        return
    before = User.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is None:
        return
    if before["password"] != instance.password or (before["is_active"] and not instance.is_active):
        ApiToken.objects.filter(user_id=instance.pk).delete()
