"""Liveness of what the product depends on: database, broker and at least one worker."""

from __future__ import annotations

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery_app import app

logger = logging.getLogger(__name__)


def check_database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.exception("health: database unreachable")
        return False


def check_broker() -> bool:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=2)
        return True
    except Exception:
        logger.warning("health: broker unreachable", exc_info=True)
        return False


def check_worker() -> bool:
    try:
        return bool(app.control.ping(timeout=1.0))
    except Exception:
        logger.warning("health: workers could not be pinged", exc_info=True)
        return False


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": check_database(), "broker": check_broker()}
    # Workers are reached through the broker: without it they cannot answer.
    checks["worker"] = check_worker() if checks["broker"] else False
    down = [name for name, ok in checks.items() if not ok]
    body = {
        "status": "ok" if not down else "unavailable",
        "checks": {name: "up" if ok else "down" for name, ok in checks.items()},
        "down": down,
    }
    return JsonResponse(body, status=200 if not down else 503)
