"""API plumbing shared by every app: one error shape (token login is in security/api.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from workflow import errors as workflow_errors


class Conflict(exceptions.APIException):
    """A transition not allowed from the current state, or lost to a concurrent change."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The application changed or is not in a state that allows this."
    default_code = "conflict"


class ConditionsNotMet(Conflict):
    """A transition whose conditions are not met yet (e.g. `admit` before the consent is signed)."""

    default_detail = "The conditions of this transition are not met."
    default_code = "conditions_not_met"

    def __init__(self, detail: str | None = None, *, unmet: list[str] | None = None) -> None:
        super().__init__(detail)
        self.unmet = list(unmet or [])


# The shape of every error response, for the schema. (Built inline: a serializer class cannot
# declare a field named `fields`.)
ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "code": serializers.CharField(help_text="Stable, for programs: invalid, not_found, conflict, …"),
        "message": serializers.CharField(help_text="For people."),
        "fields": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="With `invalid`: the messages per input field (`non_field_errors` for the whole input). "
            "A field inside a list or an object is named by its path, e.g. `items[1].amount`.",
        ),
        "unmet": serializers.ListField(
            child=serializers.CharField(), required=False, help_text="With `conditions_not_met`: what is missing."
        ),
        "retry_after": serializers.IntegerField(required=False, help_text="With `throttled`: seconds to wait."),
    },
)


def _as_api_exception(exc: Exception) -> Exception:
    """Django's and the domain's exceptions as the DRF exception with the right status."""
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, workflow_errors.NotAllowed):
        return exceptions.PermissionDenied(str(exc))
    if isinstance(exc, workflow_errors.ConditionsNotMet):
        return ConditionsNotMet(str(exc), unmet=exc.unmet)
    if isinstance(exc, workflow_errors.Conflict):
        # The domain's own code when it has a more precise one than `conflict` (`already_erased`, …).
        return Conflict(str(exc), code=exc.code)
    if isinstance(exc, DjangoValidationError):
        # The services raise a dict of field -> messages; anything else is about the whole input.
        return exceptions.ValidationError(get_error_detail(exc))
    return exc


def _first_code(codes: Any) -> str:
    if isinstance(codes, str):
        return codes
    if isinstance(codes, list) and codes:
        return _first_code(codes[0])
    if isinstance(codes, dict) and codes:
        return _first_code(next(iter(codes.values())))
    return "error"


def error_body(code: str, message: str) -> dict[str, Any]:
    """The two keys every error carries; the handlers below add `fields`, `unmet` or `retry_after`."""
    return {"code": code, "message": message}


def _field_paths(detail: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, message) for each message of a DRF error detail, however deeply nested.

    A list serializer gives a list with one dict per item (`{}` for a valid one), a ListField a dict
    keyed by index, a nested serializer a dict; their own errors come under `non_field_errors`.
    """
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY and path:
                yield from _field_paths(value, path)
            elif isinstance(key, int):
                yield from _field_paths(value, f"{path}[{key}]")
            else:
                yield from _field_paths(value, f"{path}.{key}" if path else str(key))
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            nested = isinstance(item, dict | list)
            yield from _field_paths(item, f"{path}[{index}]" if nested else path)
    else:
        yield path or api_settings.NON_FIELD_ERRORS_KEY, str(detail)


def flat_fields(detail: Any) -> dict[str, list[str]]:
    """A validation error as the schema declares `fields`: each field's path -> its messages."""
    fields: dict[str, list[str]] = {}
    for path, message in _field_paths(detail, ""):
        fields.setdefault(path, []).append(message)
    return fields


def _invalid_message(fields: dict[str, Any]) -> str:
    named = [name for name in fields if name != "non_field_errors"]
    if named:
        return "The request has invalid fields: " + ", ".join(named) + "."
    first = fields.get("non_field_errors")
    return str(first[0]) if isinstance(first, list) and first else "The request is invalid."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error as {"code", "message"[, "fields"]}; `code` is stable, `message` is for people."""
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    body: dict[str, Any]
    if isinstance(exc, exceptions.ValidationError):
        fields = flat_fields(exc.detail)
        body = {**error_body("invalid", _invalid_message(fields)), "fields": fields}
    else:
        body = error_body(_first_code(exc.get_codes()), str(exc.detail))
        if isinstance(exc, ConditionsNotMet):
            body["unmet"] = exc.unmet
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            body["retry_after"] = int(wait)
    response.data = body
    return response


# The instants and days the clinic deals in. Outside them a value is a typo, and the calendar
# arithmetic behind deadlines and reports would run past what a datetime can hold (year 9999).
EARLIEST_YEAR = 2000
LATEST_YEAR = 2100
PLAUSIBLE_RANGE = f"Between the years {EARLIEST_YEAR} and {LATEST_YEAR}."


def _with_range(help_text: str | None) -> str:
    return f"{help_text} {PLAUSIBLE_RANGE}" if help_text else PLAUSIBLE_RANGE


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 instant that must carry its UTC offset (a bare local time is ambiguous), in a
    plausible range."""

    default_error_messages = {
        "naive": "Give a UTC offset or Z, e.g. 2026-11-23T04:30:00Z.",
        "implausible": f"Give an instant between the years {EARLIEST_YEAR} and {LATEST_YEAR}.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs["help_text"] = _with_range(kwargs.get("help_text"))
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                # Well-formed but impossible (30 February, minute 99): the parent calls it invalid.
                parsed = None
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        elif isinstance(value, datetime) and timezone.is_naive(value):
            self.fail("naive")
        instant = super().to_internal_value(value)
        if not EARLIEST_YEAR <= instant.year <= LATEST_YEAR:
            self.fail("implausible")
        return instant


class PlausibleDateField(serializers.DateField):
    """A calendar day in the same plausible range as the instants."""

    default_error_messages = {"implausible": f"Give a day between the years {EARLIEST_YEAR} and {LATEST_YEAR}."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs["help_text"] = _with_range(kwargs.get("help_text"))
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> date:
        day = super().to_internal_value(value)
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            self.fail("implausible")
        return day
