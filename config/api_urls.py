from __future__ import annotations

from django.urls import include, path

from config.api import ObtainTokenView
from offices.api import OfficeListView, ReplyDueView

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("offices/", OfficeListView.as_view(), name="office-list"),
    path("offices/<slug:code>/reply-due/", ReplyDueView.as_view(), name="office-reply-due"),
    path("", include("workflow.api.urls")),
    path("notifications/", include("notifications.urls")),
]
