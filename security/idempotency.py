"""`Idempotency-Key` on the API's acting POSTs (SPEC §11; docs/security.md, "Idempotent requests").

A request with the header runs inside one transaction that first inserts its key. PostgreSQL's unique
constraint decides between concurrent requests with one key: the second one's insert waits until the
first commits (and then replays the first answer) or rolls back (and then acts itself). Only a 2xx is
committed with its key: an error response acted on nothing (its service raised, and the transaction
is rolled back), so a retry runs again and answers what is true now — a 400 for a body that is still
bad, the 200 of a transition whose state has arrived meanwhile.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import OperationalError, connection, transaction
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from security.client import client_address
from security.models import IdempotencyKey

HEADER = "Idempotency-Key"
# Set on a replayed answer, so that a client (and a person reading logs) can tell it from a fresh one.
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = IdempotencyKey._meta.get_field("key").max_length or 255
# PostgreSQL's "lock_not_available": the wait for a request in flight with the same key ran out.
LOCK_NOT_AVAILABLE = "55P03"
SWEEP_BATCH = 5_000

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any string of 1 to 255 visible ASCII characters the client chooses per action (a UUID, say). "
        "Repeating a request with the same key and the same body within 24 hours returns the first "
        "answer (a 2xx, with `Idempotent-Replayed: true`) without acting again; the same key with a "
        "different body is a 422 `idempotency_key_reused`. A second request arriving while the first "
        "is still running waits for it; after 10 seconds it gets a 409 `in_progress`. Error answers "
        "are not kept: the request acted on nothing, and a retry runs again."
    ),
)


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request. Use a new key for a new request."
    default_code = "idempotency_key_reused"


class InProgress(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still being processed; retry it in a moment."
    default_code = "in_progress"


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and all("!" <= char <= "~" for char in key)


def _owner(request: Request) -> str:
    user = request.user
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"client:{client_address(request)}"


def _canonical(value: Any) -> Any:
    """The parsed body as plain JSON: the same input gives the same value however it was encoded
    (key order, a multipart boundary, which differs on every retry a client library sends)."""
    if isinstance(value, QueryDict):
        return {key: [_canonical(item) for item in value.getlist(key)] for key in value}
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "size": value.size, "sha256": digest.hexdigest()}
    return value


def fingerprint(request: Request) -> str:
    canonical = {"method": request.method, "path": request.path, "body": _canonical(request.data)}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


def _claim(*, owner: str, key: str, print_: str, now: datetime) -> bool:
    """Insert the key, or take over an expired one. False when a live key exists (committed by then).

    The insert waits for a concurrent transaction holding the same key, at most
    `IDEMPOTENCY_WAIT_SECONDS`; the wait is the database's, so no request can slip between a check
    and an insert.
    """
    table = IdempotencyKey._meta.db_table
    expires = now + timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    with connection.cursor() as cursor:
        postgres = connection.vendor == "postgresql"
        if postgres:
            cursor.execute("SELECT current_setting('lock_timeout')")
            (previous,) = cursor.fetchone()
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{settings.IDEMPOTENCY_WAIT_SECONDS}s"])
        cursor.execute(
            f"""
            INSERT INTO {table} (owner, key, fingerprint, status_code, response_body, created_at, expires_at)
            VALUES (%s, %s, %s, 0, NULL, %s, %s)
            ON CONFLICT (owner, key) DO NOTHING
            RETURNING id
            """,  # noqa: S608 - the table name is ours; every value is a parameter
            [owner, key, print_, now, expires],
        )
        claimed = cursor.fetchone() is not None
        if postgres:
            # The service's own row locks wait as they always did.
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    if claimed:
        return True
    # A key past its 24 hours that the sweep has not deleted yet is free again: the conditional update
    # lets one of several concurrent takers have it.
    return bool(
        IdempotencyKey.objects.filter(owner=owner, key=key, expires_at__lte=now).update(
            fingerprint=print_, status_code=0, response_body=None, created_at=now, expires_at=expires
        )
    )


def _lock_ran_out(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE


def _replay(stored: IdempotencyKey) -> Response:
    response = Response(stored.response_body, status=stored.status_code)
    response[REPLAYED_HEADER] = "true"
    return response


_Method = TypeVar("_Method", bound=Callable[..., Response])


def idempotent(method: _Method) -> _Method:
    """Give an API view's POST the `Idempotency-Key` behaviour (and its header in the schema).

    It runs after authentication, permissions and throttles (inside DRF's `dispatch`), so the key's
    owner is known and an anonymous caller's replays still count against the intake throttle.
    """

    @wraps(method)
    def wrapper(view: APIView, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return method(view, request, *args, **kwargs)
        if not _valid_key(key):
            raise exceptions.ValidationError(
                {HEADER: [f"Give 1 to {MAX_KEY_LENGTH} visible ASCII characters (no spaces), e.g. a UUID."]}
            )
        owner, print_, now = _owner(request), fingerprint(request), timezone.now()
        with transaction.atomic():
            try:
                claimed = _claim(owner=owner, key=key, print_=print_, now=now)
            except OperationalError as exc:
                if _lock_ran_out(exc):
                    raise InProgress() from exc
                raise
            if not claimed:
                stored = IdempotencyKey.objects.filter(owner=owner, key=key).first()
                if stored is None:
                    # An expired key the sweep deleted between the insert and the takeover: the retry is new.
                    raise InProgress()
                if stored.fingerprint != print_:
                    raise KeyReused()
                return _replay(stored)
            # An exception (a 4xx from a service, or a crash) leaves the block and takes the key with it.
            response = method(view, request, *args, **kwargs)
            if not status.is_success(response.status_code):
                transaction.set_rollback(True)
                return response
            body = None if response.data is None else json.loads(JSONRenderer().render(response.data))
            IdempotencyKey.objects.filter(owner=owner, key=key).update(
                status_code=response.status_code, response_body=body
            )
        return response

    return cast(_Method, extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER])(wrapper))


def idempotency_sweep(now: datetime) -> int:
    """Delete the expired keys, a batch at a time (a scheduled job; safe to run twice at once)."""
    deleted = 0
    while True:
        batch = list(IdempotencyKey.objects.filter(expires_at__lte=now).values_list("pk", flat=True)[:SWEEP_BATCH])
        if not batch:
            return deleted
        deleted += IdempotencyKey.objects.filter(pk__in=batch).delete()[0]
