"""The periodic jobs. Beat (through one task) and `manage.py run_scheduled` both run `run_all`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

logger = logging.getLogger(__name__)

Job = Callable[[datetime], Any]

# (name, dotted path of a callable taking `now`); imported lazily so apps load in any order.
JOBS: list[tuple[str, str]] = [
    ("sla_sweep", "workflow.services.sla.sla_sweep"),
    # Before the relay, so that a reminder written now is published in the same run.
    ("reminder_sweep", "workflow.services.reminders.reminder_sweep"),
    # Monitoring checks due, the automatic start and completion, the follow-up reviews' steps (SPEC §5).
    ("aftercare_sweep", "workflow.services.aftercare_sweeps.aftercare_sweep"),
    ("notifications_relay", "notifications.relay.sweep"),
    # Idempotency-Key answers older than IDEMPOTENCY_KEY_HOURS (docs/security.md).
    ("idempotency_sweep", "security.idempotency.idempotency_sweep"),
]


def _load(path: str) -> Job:
    from django.utils.module_loading import import_string

    job: Job = import_string(path)
    return job


def run_all(now: datetime) -> dict[str, Any]:
    """Run every job once as of `now`; one failing job does not stop the others."""
    results: dict[str, Any] = {}
    for name, path in JOBS:
        try:
            results[name] = _load(path)(now)
        except Exception:
            logger.exception("scheduled job %s failed", name)
            results[name] = "failed"
    return results
