"""Mounted at `api/v1/notifications/` by `config.api_urls`."""

from __future__ import annotations

from django.urls import URLPattern, path

from notifications import api

urlpatterns: list[URLPattern] = [
    path("failed/", api.FailedNotificationsView.as_view(), name="notification-failed-list"),
    path("<int:pk>/retry/", api.RetryNotificationView.as_view(), name="notification-retry"),
]
