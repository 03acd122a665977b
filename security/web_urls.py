from __future__ import annotations

from django.urls import path

from security.views import enrol

urlpatterns = [path("two-factor/", enrol, name="two-factor-enrol")]
