"""The admin's share of the protections: unlocking a locked-out login, reading the access log
(docs/security.md)."""

from __future__ import annotations

from typing import Any

from axes.utils import reset
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from offices.models import Membership
from security.access_log import access_log_for_managers
from security.models import AccessLogEntry


@admin.action(description="Unlock login (forget failed attempts)", permissions=["change"])
def unlock_logins(modeladmin: admin.ModelAdmin[User], request: HttpRequest, queryset: QuerySet[User]) -> None:
    for user in queryset:
        reset(username=user.get_username())
    messages.success(request, f"Unlocked {queryset.count()} login(s).")


class ClinicUserAdmin(UserAdmin):
    actions = [unlock_logins]


admin.site.unregister(User)
admin.site.register(User, ClinicUserAdmin)


def managed_offices(request: HttpRequest) -> list[int]:
    """The offices the user manages, read once per request."""
    cached: list[int] | None = getattr(request, "_managed_offices", None)
    if cached is None:
        managing = Membership.objects.filter(user_id=request.user.pk or 0, role=Membership.Role.MANAGER)
        cached = list(managing.values_list("office_id", flat=True))
        request._managed_offices = cached  # type: ignore[attr-defined]
    return cached


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(admin.ModelAdmin[AccessLogEntry]):
    """The access log, for managers, over their offices; nobody adds, edits or deletes a row here
    (and in PostgreSQL the database refuses it too)."""

    list_display = ["at", "username", "outcome", "status", "what", "reference", "office", "channel", "client_address"]
    list_filter = ["outcome", "channel", "what"]
    search_fields = ["=reference", "=username"]
    list_select_related = ["office"]
    readonly_fields = [
        "at",
        "username",
        "user",
        "outcome",
        "status",
        "what",
        "reference",
        "application",
        "office",
        "channel",
        "client_address",
        "path",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessLogEntry]:
        # Superusers too: managing an office, not Django's superuser flag, opens its log.
        return access_log_for_managers(office_ids=managed_offices(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff and managed_offices(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}
