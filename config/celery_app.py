from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic job lives here, in code; each is safe to run twice at once (SPEC §11).
app.conf.beat_schedule = {
    "run-scheduled-jobs": {"task": "config.tasks.run_scheduled_jobs", "schedule": 60.0},
}
app.autodiscover_tasks(["config"])
