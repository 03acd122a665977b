"""The page a locked-out sign-in gets, on the staff pages and the admin alike (docs/security.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """429 with a page that says what happened, for how long, and who can lift it (axes' AXES_LOCKOUT_CALLABLE)."""
    context = {"failure_limit": settings.LOGIN_FAILURE_LIMIT, "lockout_minutes": settings.LOGIN_LOCKOUT_MINUTES}
    return render(request, "security/locked.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
