from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import transaction

from offices.models import Membership, Office


def staff_add(
    *, username: str, office_code: str, role: str, email: str | None = None, password: str | None = None
) -> tuple[AbstractUser, bool]:
    """Create or update a staff member and their role in one office. Returns (user, created)."""
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; choose one of {', '.join(Membership.Role.values)}."})
    office = Office.objects.filter(code=office_code).first()
    if office is None:
        known = ", ".join(Office.objects.values_list("code", flat=True))
        raise ValidationError({"office": f"Unknown office {office_code!r}; known offices: {known}."})
    user_model = get_user_model()
    with transaction.atomic():
        user, created = user_model.objects.get_or_create(username=username)
        if email is not None:
            user.email = email
        if password is not None:
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        user.is_staff = True
        user.is_active = True
        user.save()
        Membership.objects.update_or_create(user=user, office=office, defaults={"role": role})
    return user, created
