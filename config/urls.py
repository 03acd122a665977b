from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import errors
from config.health import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("config.api_urls")),
    # Setting up the second factor (docs/security.md).
    path("security/", include("security.web_urls")),
    # The staff's pages: queue, application page, physician reviews, dashboard (docs/staff.md).
    path("staff/", include("staff.urls")),
    # The patient's pages: the application form at /apply/ and the private portal at /portal/.
    path("", include("portal.urls")),
    # Last: any other API address ending in a slash. One without it is left to handler404, so that
    # APPEND_SLASH still redirects `/api/v1/offices` to `/api/v1/offices/`.
    re_path(r"^api/(?:.*/)?$", errors.unknown_api_path),
]

# Under /api/ each answers the API's JSON error shape; elsewhere Django's own page.
handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error
