"""The admin's hook into the access log: change pages of applications and of what belongs to one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse

from security import access_log
from workflow.models import Application

# What get_object found for a request (None: not among the caller's offices, or no such row).
_found: WeakKeyDictionary[HttpRequest, models.Model | None] = WeakKeyDictionary()


def application_of(obj: models.Model | None) -> Application | None:
    """The application a row is, or belongs to (a quote, a signature, a history row…)."""
    if obj is None or isinstance(obj, Application):
        return obj
    application = getattr(obj, "application", None)
    return application if isinstance(application, Application) else None


class AccessLoggedAdmin(admin.ModelAdmin[Any]):
    """Opening a change page of an application (or of a row of one) is a read; one out of the caller's
    offices, which the admin answers with a redirect to its index ("does not exist"), is a 404 refusal
    naming the application asked for; a PermissionDenied a 403."""

    # The access log's `what`: by default `detail` for an application, else the model's name (quote…).
    access_log_what: str | None = None

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        _found[request] = obj
        return obj

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        parent = super().change_view
        what = self.access_log_what or ("detail" if self.model is Application else str(self.opts.model_name))
        return self.logged(request, object_id, what, lambda: parent(request, object_id, form_url, extra_context))

    def logged(self, request: HttpRequest, object_id: str, what: str, view: Callable[[], HttpResponse]) -> HttpResponse:
        """Run a view about one row and record what it answered."""
        try:
            response = view()
        except PermissionDenied:
            self._record(request, object_id, what, 403)
            raise
        except Http404:
            self._record(request, object_id, what, 404)
            raise
        if request in _found and _found[request] is None:
            # Django answers a row it cannot find with a redirect to the index; for the log it is a 404.
            self._record(request, object_id, what, 404)
        else:
            self._record(request, object_id, what, response.status_code)
        return response

    def _record(self, request: HttpRequest, object_id: str, what: str, status: int) -> None:
        application = application_of(_found.get(request))
        if application is None and status in (403, 404):
            application = application_of(self._unscoped(object_id))
        access_log.record_outcome(
            request=request,
            status=status,
            what=what,
            channel=access_log.Channel.ADMIN,
            application=application,
            # Nothing found anywhere: the id asked for, so that the refusal is still a row.
            reference=None if application else f"{self.opts.model_name}:{object_id}",
        )

    def _unscoped(self, object_id: str) -> models.Model | None:
        """The row among all offices, so that its office's managers see who asked for it."""
        try:
            return self.model._default_manager.filter(pk=unquote(object_id)).first()
        except (ValueError, TypeError):
            return None
