"""The staff pages (SPEC §8, docs/staff.md)."""

from __future__ import annotations

from django.urls import path

from staff.views import application, auth, dashboard, queue, reviews

app_name = "staff"

urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("", queue.queue, name="queue"),
    path("reviews/", reviews.reviews, name="reviews"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/charts/<slug:name>.svg", dashboard.chart, name="dashboard_chart"),
    path("applications/<str:reference>/", application.detail, name="application"),
    path("applications/<str:reference>/do/<str:name>/", application.act, name="act"),
    path("applications/<str:reference>/documents/<int:document_id>/", application.document, name="document"),
    path(
        "applications/<str:reference>/consent/<int:signature_id>/scan/", application.consent_scan, name="consent_scan"
    ),
    path("applications/<str:reference>/consent/<int:signature_id>/pdf/", application.consent_pdf, name="consent_pdf"),
]
