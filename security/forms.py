"""The login form's second factor, shared by the staff pages' login and the admin's (docs/security.md)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed

from security.otp import code_verifies, confirmed_device

OTP_FIELD = forms.CharField(
    label="Authentication code",
    required=False,
    help_text="The 6-digit code from your authenticator app, if you have set one up.",
    widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
)


class SecondFactorLoginForm(AuthenticationForm):
    """Username, password and — from a user with a confirmed device — the current code.

    A wrong or missing code counts as a failed login for the lockout, like a wrong password.
    """

    otp_token = OTP_FIELD

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
