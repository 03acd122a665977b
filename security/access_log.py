"""The access log (SPEC §11): who read an application's personal data, or was refused, when, from where, how.

Each interface records through one hook (docs/security.md, "Access log"): the API's `StaffView`, the
staff pages' `access_logged` decorator, the admin's `AccessLoggedAdmin`. Other code (the
data-protection export and erasure) calls `record_read` itself; the hooks then leave that request
alone, so a read is one row whichever way it was recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.request import Request

from offices.models import Membership
from security.client import client_address
from security.models import AccessLogEntry
from workflow.models import Application

Channel = AccessLogEntry.Channel
Outcome = AccessLogEntry.Outcome

# Set on the Django request once it has its row: the interface hooks then record nothing more.
RECORDED = "_access_log_recorded"
# Longer than any reference (workflow: 20 characters); what someone typed is cut, not refused.
REFERENCE_LENGTH = AccessLogEntry._meta.get_field("reference").max_length or 40
WHAT_LENGTH = AccessLogEntry._meta.get_field("what").max_length or 40
PATH_LENGTH = AccessLogEntry._meta.get_field("path").max_length or 300


def _django_request(request: HttpRequest | Request) -> HttpRequest:
    return request._request if isinstance(request, Request) else request


def already_recorded(request: HttpRequest | Request) -> bool:
    return bool(getattr(_django_request(request), RECORDED, False))


def _write(
    *,
    request: HttpRequest | Request,
    application: Application | None,
    reference: str,
    what: str,
    channel: str,
    outcome: str,
    status: int,
) -> AccessLogEntry:
    """Insert the row (never an update: the table refuses them) and mark the request as logged."""
    user: Any = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    entry = AccessLogEntry(
        at=timezone.now(),
        user=user if signed_in else None,
        username=user.get_username() if signed_in else "",
        what=what[:WHAT_LENGTH],
        application_id=application.pk if application else None,
        reference=(application.reference if application else reference)[:REFERENCE_LENGTH],
        office_id=application.office_id if application else None,
        outcome=outcome,
        status=status,
        client_address=client_address(request)[:64],
        channel=channel,
        path=_django_request(request).path[:PATH_LENGTH],
    )
    entry.save(force_insert=True)
    setattr(_django_request(request), RECORDED, True)
    return entry


def record_read(
    *, request: HttpRequest | Request, application: Application, what: str, channel: str, status: int = 200
) -> AccessLogEntry:
    """A staff member was shown `what` of this application (its detail, a document, the export…)."""
    return _write(
        request=request,
        application=application,
        reference="",
        what=what,
        channel=channel,
        outcome=Outcome.READ,
        status=status,
    )


def record_denial(
    *,
    request: HttpRequest | Request,
    reference_or_application: Application | str | None,
    what: str,
    channel: str,
    status: int,
) -> AccessLogEntry:
    """A refusal: 404 (not in the caller's offices, or no such application) or 403 (the role may not).

    Given a reference, the application that has it is found among all offices, so that its office's
    managers see who asked for it from elsewhere; a reference nobody has is kept as it was typed.
    """
    application: Application | None
    if isinstance(reference_or_application, Application):
        application, reference = reference_or_application, ""
    else:
        # str(): Application has an untyped base (django-fsm), so mypy cannot narrow it away here.
        reference = str(reference_or_application or "")
        application = (
            Application.objects.filter(reference=reference).only("pk", "reference", "office_id").first()
            if reference
            else None
        )
    return _write(
        request=request,
        application=application,
        reference=reference,
        what=what,
        channel=channel,
        outcome=Outcome.DENIED,
        status=status,
    )


def record_outcome(
    *,
    request: HttpRequest | Request,
    status: int,
    what: str,
    channel: str,
    application: Application | None = None,
    reference: str | None = None,
) -> AccessLogEntry | None:
    """The rule of the interface hooks, given what a request answered.

    A GET that served `application` with a 2xx is a read; a 403 is a refusal, and so is a 404 about
    an application (found or only named by `reference`), not one about a page past a list's end.
    Anything else (a write: the history has it; a 401: nobody to name) writes nothing, and nor does a
    request that already has its row.
    """
    user: Any = getattr(request, "user", None)
    if already_recorded(request) or user is None or not user.is_authenticated:
        return None
    about_one = application is not None or bool(reference)
    if status == 403 or (status == 404 and about_one):
        named = application or reference
        return record_denial(request=request, reference_or_application=named, what=what, channel=channel, status=status)
    if application is not None and request.method in ("GET", "HEAD") and 200 <= status < 300:
        return record_read(request=request, application=application, what=what, channel=channel, status=status)
    return None


# ---- selectors ----


def access_log_for_application(application: Application) -> QuerySet[AccessLogEntry]:
    """Every row about this application, oldest first (the data-protection export lists them)."""
    return AccessLogEntry.objects.filter(application_id=application.pk).order_by("at", "id")


def access_log_for_managers(
    *,
    office_ids: Iterable[int],
    application: str | None = None,
    user: str | None = None,
    channel: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AccessLogEntry]:
    """What the managers of these offices may read: rows about their offices' applications, and the
    refusals of their own staff that name no application of any office (a reference nobody has).

    `application` is a reference, `user` a username or a user id; `since` is inclusive, `until` not.
    """
    ids = list(office_ids)
    staff = Membership.objects.filter(office_id__in=ids).values("user_id")
    rows = AccessLogEntry.objects.filter(Q(office_id__in=ids) | Q(office_id__isnull=True, user_id__in=staff))
    if application:
        rows = rows.filter(reference=application)
    if user:
        rows = rows.filter(user_id=int(user)) if user.isascii() and user.isdigit() else rows.filter(username=user)
    if channel:
        rows = rows.filter(channel=channel)
    if outcome:
        rows = rows.filter(outcome=outcome)
    if since is not None:
        rows = rows.filter(at__gte=since)
    if until is not None:
        rows = rows.filter(at__lt=until)
    return rows.select_related("office").order_by("-at", "-id")
