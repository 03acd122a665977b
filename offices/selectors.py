from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet


def office_staff(office_id: int, role: str) -> QuerySet[User]:
    """Active staff members with `role` in the office: the recipients of its staff alerts."""
    return User.objects.filter(is_active=True, memberships__office_id=office_id, memberships__role=role).order_by("pk")
