"""The TOTP second factor (django-otp): who needs it, and checking a code (docs/security.md)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django_otp.plugins.otp_totp.models import TOTPDevice

from offices.models import Membership
from offices.roles import MANAGER


def is_manager(user: AbstractBaseUser | AnonymousUser) -> bool:
    pk = user.pk
    if not user.is_authenticated or pk is None:
        return False
    return Membership.objects.filter(user_id=pk, role=MANAGER).exists()


def confirmed_device(user: AbstractBaseUser | AnonymousUser) -> TOTPDevice | None:
    if not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk").first()


def second_factor_required(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Managers always (SPEC §11); coordinators and physicians once they have enrolled a device."""
    return is_manager(user) or confirmed_device(user) is not None


def enrolment_required(user: AbstractBaseUser | AnonymousUser) -> bool:
    """A manager with no confirmed device may do nothing but enrol one."""
    return is_manager(user) and confirmed_device(user) is None


def code_verifies(device: TOTPDevice, code: Any) -> bool:
    """A code is good once: the device remembers the last time step it accepted and refuses it again."""
    code = str(code or "").strip().replace(" ", "")
    return code.isdigit() and bool(device.verify_token(code))
