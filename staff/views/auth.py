"""Signing in and out, and changing one's password: Django's views with our pages.

Django's `login` gives the session a new key, so a session fixed before sign-in is worth nothing;
failed sign-ins count for the lockout (django-axes) with the admin's and the API's.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from security.forms import SecondFactorLoginForm


@method_decorator(never_cache, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "staff/login.html"
    authentication_form = SecondFactorLoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "staff/password_change.html"
    success_url = reverse_lazy("staff:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "staff/password_change_done.html"
