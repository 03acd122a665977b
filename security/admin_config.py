from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class ClinicAdminConfig(AdminConfig):
    """Django's admin with our site (security/admin_site.py) as `admin.site`, so every registration stays."""

    default_site = "security.admin_site.ClinicAdminSite"
