from __future__ import annotations

import socket
from typing import Any

from celery import shared_task
from django.utils import timezone

from config import scheduling


@shared_task(name="config.tasks.run_scheduled_jobs", ignore_result=True)
def run_scheduled_jobs() -> dict[str, Any]:
    return scheduling.run_all(timezone.now())


@shared_task(name="config.tasks.heartbeat")
def heartbeat(token: str) -> dict[str, str]:
    """Echo a token with the worker's host: proof that a worker took the message and answered."""
    return {"token": token, "worker": socket.gethostname()}
