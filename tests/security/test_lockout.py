"""Login lockout (django-axes): the admin's login and the token login count together (docs/security.md)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.redis


def token_login(username: str, password: str, **extra: Any):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json", **extra)


def admin_login(username: str, password: str, **extra: Any):
    return Client().post("/admin/login/?next=/admin/", {"username": username, "password": password}, **extra)


def test_five_failures_lock_the_account_even_with_the_right_password_next(delhi_coordinator):
    failures = [token_login("asha", "nope") for _ in range(settings.LOGIN_FAILURE_LIMIT)]
    locked = token_login("asha", "pw-asha")

    assert {response.status_code for response in failures[:-1]} == {400}
    assert locked.status_code == 429
    assert locked.json()["code"] == "locked"
    assert "15 minutes" in locked.json()["message"]


def test_rotating_forged_forwarded_for_addresses_change_nothing(delhi_coordinator, delhi_physician):
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        token_login("asha", "nope", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    # The address counted is REMOTE_ADDR (NUM_PROXIES=0): it is locked too, for any other account.
    other_user = token_login("dr_rao", "pw-dr_rao", HTTP_X_FORWARDED_FOR="198.51.100.7")
    same_user_elsewhere = token_login("asha", "pw-asha", REMOTE_ADDR="192.0.2.50")

    assert other_user.json()["code"] == "locked"
    assert same_user_elsewhere.json()["code"] == "locked"


def test_failures_on_the_admin_login_and_the_token_login_count_together(delhi_coordinator):
    for _ in range(3):
        assert admin_login("asha", "nope").status_code == 200
    for _ in range(2):
        token_login("asha", "nope")

    assert admin_login("asha", "pw-asha").status_code == 429
    assert token_login("asha", "pw-asha").json()["code"] == "locked"


def test_the_lockout_lasts_the_cool_off_time(delhi_coordinator):
    import redis

    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        token_login("asha", "nope")

    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*axes*"))
    assert keys
    assert {0 < client.ttl(key) <= settings.LOGIN_LOCKOUT_MINUTES * 60 for key in keys} == {True}


def test_a_manager_unlocks_an_account_with_the_reset_command(delhi_coordinator):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        token_login("asha", "nope", REMOTE_ADDR="192.0.2.1")

    call_command("axes_reset_username", "asha", stdout=open(os.devnull, "w"))  # noqa: SIM115

    assert token_login("asha", "pw-asha", REMOTE_ADDR="192.0.2.2").status_code == 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def two_servers(transactional_db: None) -> Iterator[list[str]]:
    """Two web processes (`runserver --noreload`) on the test database and this run's cache keys."""
    db = connection.settings_dict
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.test")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{host}/{db['NAME']}"
    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail("a web process did not start")
                    time.sleep(0.2)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)


def post_json(url: str, body: dict[str, str]) -> tuple[int, dict[str, str]]:
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(  # noqa: S310  (our own test server)
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.postgres
def test_two_web_processes_share_one_limit(two_servers, delhi_coordinator):
    # Alternate between the processes: with per-process counters neither would reach five.
    statuses = [
        post_json(f"{two_servers[n % 2]}/api/v1/auth/token/", {"username": "asha", "password": "nope"})[0]
        for n in range(settings.LOGIN_FAILURE_LIMIT)
    ]
    answers = [
        post_json(f"{base}/api/v1/auth/token/", {"username": "asha", "password": "pw-asha"}) for base in two_servers
    ]

    assert statuses[:-1] == [400] * (settings.LOGIN_FAILURE_LIMIT - 1)
    assert [(status, body["code"]) for status, body in answers] == [(429, "locked"), (429, "locked")]


def test_clearing_the_cache_forgets_only_its_own_keys(db):
    import redis
    from django.core.cache import cache

    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    client.set("not-ours-" + settings.CACHES["default"]["KEY_PREFIX"], "a queued task", ex=60)
    cache.set("counter", 3)

    cache.clear()

    assert cache.get("counter") is None
    assert client.get("not-ours-" + settings.CACHES["default"]["KEY_PREFIX"]) == b"a queued task"


def test_an_administrator_unlocks_an_account_from_the_users_list(delhi_coordinator, client):
    from django.contrib.auth.models import User

    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        token_login("asha", "nope", REMOTE_ADDR="192.0.2.1")
    admin = User.objects.create_superuser("root", "root@clinic.example", "pw-root")
    client.force_login(admin)

    response = client.post("/admin/auth/user/", {"action": "unlock_logins", "_selected_action": [delhi_coordinator.pk]})

    assert response.status_code == 302
    assert token_login("asha", "pw-asha", REMOTE_ADDR="192.0.2.2").status_code == 200
