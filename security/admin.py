"""The admin's share of the protections: unlocking a locked-out login (docs/security.md)."""

from __future__ import annotations

from axes.utils import reset
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest


@admin.action(description="Unlock login (forget failed attempts)", permissions=["change"])
def unlock_logins(modeladmin: admin.ModelAdmin[User], request: HttpRequest, queryset: QuerySet[User]) -> None:
    for user in queryset:
        reset(username=user.get_username())
    messages.success(request, f"Unlocked {queryset.count()} login(s).")


class ClinicUserAdmin(UserAdmin):
    actions = [unlock_logins]


admin.site.unregister(User)
admin.site.register(User, ClinicUserAdmin)
