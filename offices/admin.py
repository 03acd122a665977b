from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.utils import timezone

from offices.models import CalendarChange, CalendarOverride, Membership, Office
from offices.services import calendar_changed

# Office fields whose change moves working time, and so the open reply deadlines.
CALENDAR_FIELDS = {
    "timezone",
    "working_weekdays",
    "opens_at",
    "closes_at",
    "holiday_country",
    "holiday_subdivision",
    "reply_sla_days",
}


def _user(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


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

    def save_related(self, request: HttpRequest, form: ModelForm[Office], formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Compare values, not form strings: a JSON list re-rendered with other spacing is no change.
        changed = sorted(
            f for f in CALENDAR_FIELDS & set(form.changed_data) if form.initial.get(f) != form.cleaned_data.get(f)
        )
        overrides_changed = any(
            isinstance(formset, BaseInlineFormSet) and formset.model is CalendarOverride and formset.has_changed()
            for formset in formsets
        )
        if change and (changed or overrides_changed):
            parts = ([f"changed {', '.join(changed)}"] if changed else []) + (
                ["changed date overrides"] if overrides_changed else []
            )
            calendar_changed(
                office=form.instance, description="; ".join(parts), user=_user(request), now=timezone.now()
            )


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin[CalendarOverride]):
    list_display = ["office", "date", "kind", "note"]
    list_filter = ["office", "kind"]
    date_hierarchy = "date"

    def save_model(self, request: HttpRequest, obj: CalendarOverride, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        calendar_changed(
            office=obj.office, description=f"override {obj.date} {obj.kind}", user=_user(request), now=timezone.now()
        )

    def delete_model(self, request: HttpRequest, obj: CalendarOverride) -> None:
        office, label = obj.office, f"removed override {obj.date} {obj.kind}"
        super().delete_model(request, obj)
        calendar_changed(office=office, description=label, user=_user(request), now=timezone.now())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CalendarOverride]) -> None:
        offices = {o.office for o in queryset.select_related("office")}
        super().delete_queryset(request, queryset)
        for office in offices:
            calendar_changed(office=office, description="removed overrides", user=_user(request), now=timezone.now())


@admin.register(CalendarChange)
class CalendarChangeAdmin(admin.ModelAdmin[CalendarChange]):
    list_display = ["at", "office", "description", "obligations_recomputed", "changed_by"]
    list_filter = ["office"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CalendarChange | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CalendarChange | None = None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "office", "role"]
    list_filter = ["office", "role"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]
