"""Middleware of the cross-cutting protections (docs/security.md)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from security.otp import enrolment_required

# Every browser feature a clinic page never needs, off for every response.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)


class EndDisabledSessionMiddleware:
    """A session whose user was disabled (or deleted) ends at its next request, not when it expires.

    After AuthenticationMiddleware: the backend no longer returns an inactive user, so a session that
    still names one is flushed, and the request carries on anonymous.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if SESSION_KEY in request.session and not request.user.is_authenticated:
            logout(request)
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """`Permissions-Policy` on every response; `Cache-Control: no-store` on every API response, which
    may carry personal data (SPEC §11)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response


class SecondFactorEnrolmentMiddleware:
    """A manager signed in without a confirmed second factor may only enrol one (or log out).

    Pages send them to the enrolment page; the API (a session cookie) answers 403 `enrolment_required`.
    After OTPMiddleware. Token logins never get this far: the token endpoint refuses them.
    """

    ALLOWED_PREFIXES = ("/security/two-factor/", "/admin/logout/", "/staff/logout/", "/static/", "/health/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            SESSION_KEY in request.session
            and not request.path.startswith(self.ALLOWED_PREFIXES)
            and enrolment_required(request.user)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"code": "enrolment_required", "message": "Set up your second factor first."}, status=403
                )
            enrol = reverse("two-factor-enrol")
            if request.path.startswith("/staff/"):
                # Back to the staff page they asked for once the device is confirmed.
                enrol = f"{enrol}?{urlencode({'next': request.get_full_path()})}"
            return HttpResponseRedirect(enrol)
        return self.get_response(request)
