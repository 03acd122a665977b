from __future__ import annotations

import uuid

import pytest

from config.tasks import heartbeat


@pytest.mark.django_db
@pytest.mark.redis
def test_a_real_worker_on_redis_runs_a_task_and_returns_its_result(celery_worker_process):
    token = uuid.uuid4().hex
    result = heartbeat.delay(token).get(timeout=30)
    assert result["token"] == token
    assert result["worker"]
