"""Enrolment of the TOTP second factor: a QR code on our own page, confirmed by a first code."""

from __future__ import annotations

from typing import Any

import qrcode
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from qrcode.image.svg import SvgPathFillImage

from security.otp import code_verifies, confirmed_device, is_manager

DEVICE_NAME = "Authenticator app"


def _qr_svg(url: str) -> str:
    # Inline SVG made of attributes, no style attribute and no external image: nothing for the CSP to refuse.
    image = qrcode.make(url, image_factory=SvgPathFillImage, box_size=8)
    return str(image.to_string(encoding="unicode"))


def _after_enrolment(request: HttpRequest) -> str:
    """The staff page the user was on (`next`), or the admin they came from."""
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("admin:index")


@never_cache
@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if confirmed_device(user) is not None:
        return HttpResponseRedirect(_after_enrolment(request))
    # One pending device per user, kept until confirmed, so a reload shows the same key.
    device, _ = TOTPDevice.objects.get_or_create(user=user, confirmed=False, defaults={"name": DEVICE_NAME})
    error = ""
    if request.method == "POST":
        if code_verifies(device, request.POST.get("otp")):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            return HttpResponseRedirect(_after_enrolment(request))
        error = "That code did not match. Enter the code your app shows now."
    secret = device.config_url.split("secret=")[1].split("&")[0]
    context = {
        "qr_svg": mark_safe(_qr_svg(device.config_url)),  # noqa: S308  (our own SVG, no user input but the username)
        "secret": secret,
        "error": error,
        "required": is_manager(user),
        "title": "Set up your second factor",
    }
    return render(request, "security/enrol.html", context, status=200 if not error else 400)
