"""Django's error views: the API's error shape under `/api/`, Django's own pages elsewhere.

DRF views answer their errors through `config.api.exception_handler`. These cover what happens
before or outside them: a path no URL matches, a request body Django refuses to read (too large,
too many files or fields), and an exception nothing caught (500).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.common import no_append_slash
from django.views.decorators.csrf import csrf_exempt

from config.api import error_body

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def api_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return api_error(400, "too_large", f"The request body, files aside, is larger than {limit} bytes.")
    if isinstance(exception, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return api_error(400, "too_many_files", f"The request carries more than {limit} files.")
    if isinstance(exception, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return api_error(400, "too_many_fields", f"The request carries more than {limit} fields.")
    # Other refusals name what was wrong in terms meant for the logs, not for the caller.
    return api_error(400, "bad_request", "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api(request):
        return defaults.permission_denied(request, exception)
    return api_error(403, "permission_denied", "You do not have permission to perform this action.")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api(request):
        return defaults.page_not_found(request, exception)
    return api_error(404, "not_found", "There is nothing at this address.")


def server_error(request: HttpRequest) -> HttpResponse:
    if not is_api(request):
        return defaults.server_error(request)
    # The exception is logged by Django (django.request); the caller learns nothing of it.
    return api_error(500, "server_error", "Something went wrong on our side. It has been logged.")


@csrf_exempt
@no_append_slash
def unknown_api_path(request: HttpRequest) -> HttpResponse:
    """Any other address under `/api/` that ends in a slash: a JSON 404 even with DEBUG on, where
    Django answers its technical HTML page instead of calling `handler404`.

    Not a target for APPEND_SLASH: `/api/v1/nothing` stays a 404 rather than a redirect to here.
    """
    return page_not_found(request, Http404())
