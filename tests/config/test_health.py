from __future__ import annotations

import pytest
from django.db import connection

from config import health


@pytest.mark.django_db
@pytest.mark.redis
def test_it_reports_every_dependency_up_with_a_worker_running(client, celery_worker_process):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "up", "broker": "up", "worker": "up"},
        "down": [],
    }


@pytest.mark.django_db
def test_it_names_the_broker_and_worker_when_redis_is_unreachable(client, settings):
    from config.celery_app import app

    original = app.conf.broker_url
    # A closed port on loopback: nothing listens on port 1.
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/health/")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["broker", "worker"]
    assert body["checks"]["database"] == "up"


@pytest.mark.django_db
@pytest.mark.redis
def test_it_reports_the_database_down(client, monkeypatch, celery_worker_process):
    from django.db.backends.sqlite3.base import DatabaseWrapper

    # A real connection attempt that fails: a database file in a directory that does not exist.
    unreachable = DatabaseWrapper(
        {
            **connection.settings_dict,
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": "/nonexistent/clinic/db.sqlite3",
            "OPTIONS": {},
        }
    )
    monkeypatch.setattr(health, "connection", unreachable)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["down"] == ["database"]
