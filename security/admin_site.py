"""The admin, behind the second factor for whoever has one (and managers always)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest

from security.forms import SecondFactorLoginForm
from security.otp import confirmed_device, enrolment_required


class AdminLoginForm(SecondFactorLoginForm, AdminAuthenticationForm):
    """The admin's login: staff only (AdminAuthenticationForm), with the second factor of the staff pages."""


class ClinicAdminSite(admin.AdminSite):
    login_form = AdminLoginForm
    login_template = "security/admin_login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        user: Any = request.user
        if not super().has_permission(request) or enrolment_required(user):
            return False
        # Whoever has a device must have used it for this session.
        return confirmed_device(user) is None or bool(user.is_verified())
