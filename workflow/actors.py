"""Who acts on an application: a staff member (with a role per office), the patient, or the system."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from django.contrib.auth.models import User

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    from offices.models import Office
    from workflow.models import Application


@dataclass(frozen=True)
class Actor:
    kind: Literal["user", "patient", "system"]
    user: User | None = None
    # office id -> role; loaded once when the actor is built.
    roles: dict[int, str] = field(default_factory=dict)
    # office id -> the office, by code, read in the same query as the roles (pages name them; a queue
    # page shows its rows' offices and their calendars).
    offices: dict[int, Office] = field(default_factory=dict)

    @classmethod
    def staff(cls, user: AbstractBaseUser | AnonymousUser) -> Actor:
        from offices.models import Membership, Office

        if not user.is_authenticated or not user.is_active:
            return cls(kind="user", user=None, roles={})
        # Every staff request builds its actor: a raw query (Django's documented Manager.raw, which still
        # converts each field) costs a third of the CPU of building the same join through a QuerySet.
        offices = Office.objects.raw(
            f"SELECT o.*, m.role AS membership_role FROM {Office._meta.db_table} o "  # noqa: S608 - model tables
            f"JOIN {Membership._meta.db_table} m ON m.office_id = o.id WHERE m.user_id = %s ORDER BY o.code",
            [user.pk],
        )
        roles: dict[int, str] = {}
        by_id: dict[int, Office] = {}
        for office in offices:
            roles[office.pk] = office.membership_role  # type: ignore[attr-defined]  # the query's extra column
            by_id[office.pk] = office
        assert isinstance(user, User)  # noqa: S101 - the project uses the default user model
        return cls(kind="user", user=user, roles=roles, offices=by_id)

    @classmethod
    def patient(cls) -> Actor:
        return cls(kind="patient")

    @classmethod
    def system(cls) -> Actor:
        return cls(kind="system")

    @property
    def office_ids(self) -> list[int]:
        return list(self.roles)

    @property
    def is_staff_member(self) -> bool:
        return self.kind == "user" and bool(self.roles)

    def role_in(self, office_id: int) -> str | None:
        return self.roles.get(office_id)

    def may(
        self, application: Application, roles: frozenset[str], *, patient: bool = False, system: bool = False
    ) -> bool:
        if self.kind == "patient":
            return patient
        if self.kind == "system":
            return system
        return self.role_in(application.office_id) in roles
