from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic job lives here, in code; each is safe to run twice at once (SPEC §11).
app.conf.beat_schedule = {
    "run-scheduled-jobs": {"task": "config.tasks.run_scheduled_jobs", "schedule": 60.0},
}
app.autodiscover_tasks(["config"])


# Celery's Django fixup closes every database connection before and after each task, whatever
# CONN_MAX_AGE says, so a worker opened a new PostgreSQL connection for every email it sent. Its
# one knob, CELERY_DB_REUSE_MAX, makes it close only every N tasks; set out of reach, connections
# are instead handled the way Django handles them around a request (below): kept for CONN_MAX_AGE
# seconds and checked before reuse (CONN_HEALTH_CHECKS, config/settings/base.py), closed once an
# error has made them unusable.
NEVER = 2**62


@app.on_after_configure.connect
def _leave_connections_to_django(sender: Celery, **kwargs: object) -> None:
    sender.conf["CELERY_DB_REUSE_MAX"] = NEVER


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(sender: Any = None, **kwargs: object) -> None:
    from django.db import close_old_connections

    # An eager task runs inside its caller's transaction (a test's, a request's): leave it alone.
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()
