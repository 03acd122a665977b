"""The admin, behind the second factor for whoever has one (and managers always)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest

from security.otp import code_verifies, confirmed_device, enrolment_required


class AdminLoginForm(AdminAuthenticationForm):
    """Username, password and — from a user with a confirmed device — the current code.

    A wrong or missing code counts as a failed login for the lockout, like a wrong password.
    """

    otp_token = forms.CharField(
        label="Authentication code",
        required=False,
        help_text="The 6-digit code from your authenticator app, if you have set one up.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        user = self.get_user()
        device = confirmed_device(user) if user is not None else None
        if device is None:
            return cleaned
        if not code_verifies(device, cleaned.get("otp_token")):
            user_login_failed.send(
                sender=type(self),
                credentials={"username": cleaned.get("username")},
                request=self.request,
            )
            raise forms.ValidationError(
                "Enter the current code from your authenticator app (each code works once).", code="invalid_otp"
            )
        # django-otp's login receiver records the device in the session: the session is verified.
        user.otp_device = device  # type: ignore[attr-defined]  # django-otp's own attribute
        return cleaned


class ClinicAdminSite(admin.AdminSite):
    login_form = AdminLoginForm
    login_template = "security/admin_login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        user: Any = request.user
        if not super().has_permission(request) or enrolment_required(user):
            return False
        # Whoever has a device must have used it for this session.
        return confirmed_device(user) is None or bool(user.is_verified())
