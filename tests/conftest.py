"""Personas and service gates shared by every test.

With REQUIRE_SERVICES=1 (CI) a test that needs PostgreSQL, Redis or Chromium fails when it is
missing; without it (a laptop with no services) such a test is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection
from django.test import Client
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, sync_playwright

from offices.models import Membership, Office

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
# Debian's package (.ci/run installs it): Playwright's own browser downloads are not allowed here.
CHROMIUM = "/usr/bin/chromium"


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _unavailable("this test needs PostgreSQL: set DATABASE_URL=postgres://…")
    if item.get_closest_marker("redis") and not redis_available():
        _unavailable(f"this test needs Redis at {settings.CELERY_BROKER_URL}")
    if item.get_closest_marker("browser") and not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"this test needs Chromium at {CHROMIUM}: apt-get install chromium")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, for one test module (launching it takes about half a second).

    Not for the session: while Playwright runs, the setting below would reach every later test and
    the processes they start (`manage.py check --deploy` refuses it).
    """
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # No sandbox: CI runs as root. The rest keeps the browser from calling home during tests.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        with pytest.MonkeyPatch.context() as env:
            # Playwright's sync API marks its event loop as running in this thread until it stops,
            # so Django would refuse the test's own ORM calls (SynchronousOnlyOperation). They are
            # plain sync code: the loop only carries Playwright's messages, and the app under test
            # runs in the live server's thread.
            env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
            yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture(autouse=True)
def fresh_counters() -> None:
    """Each test starts with no login failures and no throttle history: they live in the shared Redis.

    `cache.clear()` forgets only this run's keys (security/cache.py), never the broker's queues.
    """
    with contextlib.suppress(redis.RedisError):
        cache.clear()


def confirmed_totp(user: User) -> TOTPDevice:
    """The user's confirmed authenticator (one is created on first use)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="test authenticator", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    """The code the user's app shows now (time_machine moves it too)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture(autouse=True)
def force_login_passes_the_second_factor(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Client.force_login` skips the password; here it skips the second factor too, as its name says.

    A manager (for whom it is mandatory, docs/security.md) is given a confirmed device and the session
    is marked verified with it. Tests of the second factor itself log in through the forms.
    """
    original = Client.force_login

    def force_login(client: Client, user: User, backend: str | None = None) -> None:
        original(client, user, backend)
        if Membership.objects.filter(user=user, role=Membership.Role.MANAGER).exists():
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = confirmed_totp(user).persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


SEED_MIGRATIONS = ("offices.migrations.0002_seed_offices", "workflow.migrations.0002_seed_consent_documents")


@pytest.fixture(autouse=True)
def reference_data(request: pytest.FixtureRequest) -> None:
    """Put back what the data migrations seed (offices, consent v1) for transactional tests.

    A transactional test ends by flushing every table, so the ones after it would find no office.
    """
    marker = request.node.get_closest_marker("django_db")
    if (marker is not None and marker.kwargs.get("transaction")) or "transactional_db" in request.fixturenames:
        request.getfixturevalue("transactional_db")
        from django.apps import apps

        for name in SEED_MIGRATIONS:
            importlib.import_module(name).seed(apps, None)


def make_staff(username: str, memberships: dict[str, str]) -> User:
    user = User.objects.create_user(username=username, email=f"{username}@clinic.example", password="pw-" + username)
    user.is_staff = True
    user.save()
    for code, role in memberships.items():
        Membership.objects.create(user=user, office=Office.objects.get(code=code), role=role)
    return user


@pytest.fixture
def delhi() -> Office:
    return Office.objects.get(code="delhi")


@pytest.fixture
def europe() -> Office:
    return Office.objects.get(code="europe")


@pytest.fixture
def delhi_coordinator(db: None) -> User:
    return make_staff("asha", {"delhi": Membership.Role.COORDINATOR})


@pytest.fixture
def delhi_physician(db: None) -> User:
    return make_staff("dr_rao", {"delhi": Membership.Role.PHYSICIAN})


@pytest.fixture
def delhi_manager(db: None) -> User:
    return make_staff("meera", {"delhi": Membership.Role.MANAGER})


@pytest.fixture
def europe_coordinator(db: None) -> User:
    return make_staff("jonas", {"europe": Membership.Role.COORDINATOR})


@pytest.fixture
def europe_physician(db: None) -> User:
    return make_staff("dr_weber", {"europe": Membership.Role.PHYSICIAN})


@pytest.fixture
def europe_manager(db: None) -> User:
    return make_staff("klara", {"europe": Membership.Role.MANAGER})


@pytest.fixture
def outsider(db: None) -> User:
    """A logged-in user with no office membership: should see nothing."""
    return make_staff("outsider", {})


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: None, django_db_blocker: object) -> Iterator[str]:
    """A real Celery worker process on the real Redis, using the test database.

    Yields the worker's node name. Needs PostgreSQL when its tasks touch the database (an
    in-memory SQLite test database cannot be shared with another process).
    """
    if not redis_available():
        _unavailable(f"a Celery worker needs Redis at {settings.CELERY_BROKER_URL}")
    from config.celery_app import app

    db = connection.settings_dict
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.test")
    if connection.vendor == "postgresql":
        host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{host}/{db['NAME']}"
    nodename = f"test-{uuid.uuid4().hex[:8]}@localhost"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "-n",
            nodename,
            "-Q",
            settings.CELERY_TASK_DEFAULT_QUEUE,
        ],
        env=env,
        cwd=settings.BASE_DIR,
    )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[nodename], timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not start (exit code {proc.poll()})")
        yield nodename
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


class RoomyServer(ThreadedWSGIServer):
    # Tens of clients connect at once (tests of concurrency); beyond Django's backlog of 10 the kernel
    # turns some of them away.
    request_queue_size = 64


class RoomyServerThread(LiveServerThread):
    server_class = RoomyServer


@pytest.fixture
def threaded_server(transactional_db: None) -> Iterator[str]:
    """A threaded server in this process: one thread, and one PostgreSQL connection, per request."""
    thread = RoomyServerThread("127.0.0.1", _StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()
