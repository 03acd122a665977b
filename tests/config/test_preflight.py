from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings


def preflight(redis_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "config.preflight"],
        env={**os.environ, "REDIS_URL": redis_url},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_make_run_stops_with_the_fix_when_redis_is_unreachable():
    # Nothing listens on port 1 of loopback.
    result = preflight("redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert "Redis is not reachable at redis://127.0.0.1:1/0" in result.stderr
    assert "redis-server --daemonize yes" in result.stderr


@pytest.mark.redis
def test_make_run_goes_on_when_redis_answers():
    result = preflight(settings.CELERY_BROKER_URL)
    assert result.returncode == 0, result.stderr
