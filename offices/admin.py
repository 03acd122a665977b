from __future__ import annotations

from django.contrib import admin

from offices.models import CalendarOverride, Membership, Office


class CalendarOverrideInline(admin.TabularInline[CalendarOverride, Office]):
    model = CalendarOverride
    extra = 0


class MembershipInline(admin.TabularInline[Membership, Office]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Office)
class OfficeAdmin(admin.ModelAdmin[Office]):
    list_display = ["code", "name", "timezone", "working_days_label", "opens_at", "closes_at", "currency"]
    inlines = [CalendarOverrideInline, MembershipInline]


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin[CalendarOverride]):
    list_display = ["office", "date", "kind", "note"]
    list_filter = ["office", "kind"]
    date_hierarchy = "date"


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "office", "role"]
    list_filter = ["office", "role"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]
