from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from offices.models import CalendarChange, CalendarOverride, Membership, Office
from workflow.services import calendars


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
    """Configuration. Calendar changes go through `workflow.services.calendars`, which recomputes
    the open reply deadlines and logs the change (SPEC §2)."""

    list_display = ["code", "name", "timezone", "working_days_label", "opens_at", "closes_at", "currency"]
    inlines = [CalendarOverrideInline, MembershipInline]

    def save_model(self, request: HttpRequest, obj: Office, form: ModelForm[Office], change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Compare values, not form strings: a JSON list re-rendered with other spacing is no change.
        values = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in form.cleaned_data and form.initial.get(name) != form.cleaned_data[name]
        }
        if values:
            calendars.office_update(office=obj.pk, values=values, user=_user(request))

    def save_formset(self, request: HttpRequest, form: ModelForm[Office], formset: Any, change: bool) -> None:
        if formset.model is not CalendarOverride:
            super().save_formset(request, form, formset, change)
            return
        # What the admin's change message reads, filled in as the services save.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline in formset.forms:
            existing = inline.instance if inline.instance.pk else None
            if formset._should_delete_form(inline):
                if existing is not None:
                    calendars.calendar_override_remove(override=existing.pk, user=_user(request))
                    formset.deleted_objects.append(existing)
                continue
            if not inline.has_changed():
                continue
            data = inline.cleaned_data
            if existing is not None and inline.initial.get("date") not in (None, data["date"]):
                # The date itself changed: the old date is no longer an override.
                calendars.calendar_override_remove(override=existing.pk, user=_user(request))
            saved = calendars.calendar_override_set(
                office=form.instance,
                day=data["date"],
                kind=data["kind"],
                note=data.get("note", ""),
                user=_user(request),
            )
            if existing is None:
                formset.new_objects.append(saved)
            else:
                formset.changed_objects.append((saved, inline.changed_data))


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin[CalendarOverride]):
    list_display = ["office", "date", "kind", "note"]
    list_filter = ["office", "kind"]
    date_hierarchy = "date"

    def save_model(self, request: HttpRequest, obj: CalendarOverride, form: Any, change: bool) -> None:
        if change:
            before = CalendarOverride.objects.get(pk=obj.pk)
            if (before.office_id, before.date) != (obj.office_id, obj.date):
                # Moved to another date or office: the old one is no longer an override.
                calendars.calendar_override_remove(override=obj.pk, user=_user(request))
        saved = calendars.calendar_override_set(
            office=obj.office_id, day=obj.date, kind=obj.kind, note=obj.note, user=_user(request)
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: CalendarOverride) -> None:
        calendars.calendar_override_remove(override=obj.pk, user=_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CalendarOverride]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            calendars.calendar_override_remove(override=pk, user=_user(request))


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
