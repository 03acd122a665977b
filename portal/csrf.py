"""Lets Django's CSRF protection accept the forms of the patient's pages, and changes nothing else.

Patient pages send `Referrer-Policy: no-referrer`, so that nothing of a private link ever leaves in
a Referer header. Browsers then send `Origin: null` with those pages' own form posts (the Fetch
standard serialises the origin as null under that policy), and Django's origin check refuses them.
On patient pages only, this middleware, placed just before Django's `CsrfViewMiddleware`, counts a
null Origin as our own when the browser itself says the request came from our origin:
`Sec-Fetch-Site: same-origin`, a header no page can set or forge. Django's middleware then checks
the CSRF token exactly as everywhere else; every other page keeps Django's check as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

# Set on a view by `portal.web.patient_headers`.
NO_REFERRER_VIEW = "sends_no_referrer"


class NoReferrerOriginMiddleware(MiddlewareMixin):
    def process_view(
        self,
        request: HttpRequest,
        callback: Callable[..., HttpResponseBase],
        callback_args: tuple[Any, ...],
        callback_kwargs: dict[str, Any],
    ) -> None:
        if (
            getattr(callback, NO_REFERRER_VIEW, False)
            and request.META.get("HTTP_ORIGIN") == "null"
            and request.META.get("HTTP_SEC_FETCH_SITE") == "same-origin"
        ):
            scheme = "https" if request.is_secure() else "http"
            request.META["HTTP_ORIGIN"] = f"{scheme}://{request.get_host()}"
