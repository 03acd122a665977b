"""The client address, one rule for throttles and lockout."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle


def client_address(request: HttpRequest | Request) -> str:
    """The address `NUM_PROXIES` hops back in `X-Forwarded-For`, or `REMOTE_ADDR` with no trusted proxy.

    DRF's throttles read it this way; axes is pointed here (`AXES_CLIENT_IP_CALLABLE`), so a forged
    `X-Forwarded-For` moves neither a throttle nor a lockout counter.
    """
    return str(BaseThrottle().get_ident(request) or "")  # type: ignore[arg-type]  # reads only META and headers
