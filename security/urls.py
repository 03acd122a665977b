from __future__ import annotations

from django.urls import path

from security.api import ObtainTokenView, OwnTokensView, OwnTokenView

urlpatterns = [
    path("token/", ObtainTokenView.as_view(), name="api-token"),
    path("tokens/", OwnTokensView.as_view(), name="api-own-tokens"),
    path("tokens/<int:pk>/", OwnTokenView.as_view(), name="api-own-token"),
]
