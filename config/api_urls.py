from __future__ import annotations

from django.urls import include, path

from offices.api import OfficeListView, ReplyDueView
from security.access_log_api import AccessLogView

urlpatterns = [
    path("auth/", include("security.urls")),
    path("offices/", OfficeListView.as_view(), name="office-list"),
    path("offices/<slug:code>/reply-due/", ReplyDueView.as_view(), name="office-reply-due"),
    path("", include("workflow.api.urls")),
    path("notifications/", include("notifications.urls")),
    path("access-log/", AccessLogView.as_view(), name="access-log"),
]
