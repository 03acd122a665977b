"""What the notification tests share: a real SMTP server whose behaviour a test switches, private
Redis servers, Celery workers run against the test database, and the helpers around them.

Unit tests never reach a broker: `relay.publish` is replaced by a recorder unless the test is marked
`redis` (the tests that run real workers or look into a real queue).
"""

from __future__ import annotations

import asyncio
import email
import importlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import kombu.pools
import pytest
import redis
from aiosmtpd.controller import Controller
from django.apps import apps as django_apps
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery_app import app as celery_app
from notifications import relay
from notifications.tasks import deliver
from offices.models import Office
from tests.conftest import REQUIRE_SERVICES

WAIT_SECONDS = 30.0
SEED_MIGRATIONS = ("offices.migrations.0002_seed_offices", "workflow.migrations.0002_seed_consent_documents")

# aiosmtpd logs every SMTP command at INFO.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], Any], *, timeout: float = WAIT_SECONDS, what: str = "the condition") -> Any:
    """Poll until `condition()` is truthy and return it; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def opening_in_the_past(code: str, *, days_ago: int = 14) -> datetime:
    """Half an hour after an office's opening two weeks ago: staff alerts raised then are due today."""
    office = Office.objects.get(code=code)
    midnight = (timezone.now() - timedelta(days=days_ago)).astimezone(office.tz)
    midnight = midnight.replace(hour=0, minute=0, second=0, microsecond=0)
    return office.calendar().next_opening(midnight) + timedelta(minutes=30)


# ---- the SMTP server ----


class Mailbox:
    """An aiosmtpd handler: accepts mail, or answers as the test has told it to.

    - `refuse = N`: answer 421 (try again later) to the next N messages;
    - `reject.add(address)`: answer 550 to RCPT TO for that address;
    - `stall = N`: hold the next N messages in DATA until `release` is set, then answer 451 — by
      then the client has been killed, so the message was never accepted.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.refuse = 0
        self.refused = 0
        self.reject: set[str] = set()
        self.rejected = 0
        self.stall = 0
        self.stall_after = 0
        self.stalled = threading.Event()
        self.release = threading.Event()

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.refuse = self.refused = self.rejected = self.stall = self.stall_after = 0
            self.reject.clear()
            self.stalled.clear()
            self.release.clear()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.reject:
            with self.lock:
                self.rejected += 1
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            if self.refuse:
                self.refuse -= 1
                self.refused += 1
                return "421 4.3.2 Service not available, try again later"
            stall = self.stall > 0 and self.stall_after == 0
            if stall:
                self.stall -= 1
            elif self.stall:
                self.stall_after -= 1
        if stall:
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 Aborted"
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 2.0.0 Accepted"

    def received(self, to: str | None = None) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if to is None or m["To"] == to]

    def wait_for(self, count: int, *, to: str | None = None, timeout: float = WAIT_SECONDS) -> list[EmailMessage]:
        """Wait for at least `count` accepted messages (to `to`), then return them all."""
        wait_until(
            lambda: len(self.received(to)) >= count, timeout=timeout, what=f"{count} email(s) to {to or 'anyone'}"
        )
        return self.received(to)


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    mailbox = Mailbox(free_port())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        mailbox.release.set()
        controller.stop()


@pytest.fixture
def smtp(settings: Any) -> Iterator[Mailbox]:
    """A real SMTP server, and this process's Django email pointed at it."""
    with smtp_server() as mailbox:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", mailbox.port
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 10
        yield mailbox


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    return str(part.get_content())


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "no text/html part"
    return str(part.get_content())


# ---- the broker ----


@pytest.fixture(autouse=True)
def published(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids handed to Celery. Tests that use a real broker (marked `redis`) publish for real."""
    ids: list[int] = []
    if request.node.get_closest_marker("redis") is None:

        def record(notification_ids: Iterable[int]) -> int:
            batch = list(notification_ids)
            ids.extend(batch)
            return len(batch)

        monkeypatch.setattr(relay, "publish", record)
    return ids


class RedisServer:
    """A private redis-server, so a test can stop and start its broker without touching anyone else's."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(up, timeout=10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def queue_length(self, queue: str) -> int:
        return int(redis.Redis.from_url(self.url).llen(queue))


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        message = "the fault tests need the redis-server binary on PATH"
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {message}", pytrace=False)
        pytest.skip(message)
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _detach_broker_pools() -> None:
    """Make the app build its connection and producer pools again, from its current broker_url."""
    celery_app._pool = None  # type: ignore[attr-defined]  # Celery's own cache, not in the stubs
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Point this process's Celery app (publishing, control) at another broker for a while."""
    saved = celery_app.conf.broker_url, celery_app.conf.result_backend
    _detach_broker_pools()
    celery_app.conf.update(broker_url=url, result_backend=url)
    try:
        yield
    finally:
        celery_app.conf.update(broker_url=saved[0], result_backend=saved[1])
        # kombu keeps its pools in a registry keyed by broker address: close and forget them all, so
        # that no closed or half-dead pool is handed out later (to this URL or the default one).
        kombu.pools.reset()
        _detach_broker_pools()


@contextmanager
def deliveries_to(queue: str) -> Iterator[None]:
    """Publish `notifications.deliver` to `queue`: our workers' own queue, which no other worker reads."""
    task: Any = celery_app.tasks[deliver.name]  # routing attributes the stubs do not declare
    task.queue = queue
    task._exec_options = None  # Celery caches the routing options per task
    try:
        yield
    finally:
        del task.queue
        task._exec_options = None


# ---- workers ----


class Worker:
    """A real Celery worker process on the test database, sending to the given SMTP server."""

    def __init__(self, *, queue: str, smtp_port: int, broker_url: str, log_dir: Path) -> None:
        self.queue = queue
        self.smtp_port = smtp_port
        self.broker_url = broker_url
        self.log_path = log_dir / f"worker-{uuid.uuid4().hex[:8]}.log"
        self.nodename = f"notif-{uuid.uuid4().hex[:8]}@localhost"
        self.process: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"CELERY_TASK_ALWAYS_EAGER"}}
        db = connection.settings_dict
        env.update(
            # The test settings plus a sub-second retry base, so that retries finish within a test.
            DJANGO_SETTINGS_MODULE="tests.notifications.worker_settings",
            EMAIL_URL=f"smtp://127.0.0.1:{self.smtp_port}",
            REDIS_URL=self.broker_url,
            CELERY_TEST_QUEUE=self.queue,
        )
        if connection.vendor == "postgresql":
            host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
            env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{host}/{db['NAME']}"
        return env

    def start(self) -> Worker:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            self.nodename,
            "-Q",
            self.queue,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.environment(), cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            deadline = time.monotonic() + 60
            while not celery_app.control.ping(destination=[self.nodename], timeout=0.5):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the Celery worker did not start (exit code {self.process.poll()}):\n{self.log()}")
        except BaseException:
            self.stop()  # never leave a half-started worker behind
            raise
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no ack, no chance to mark anything."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


@pytest.fixture(scope="session")
def worker_logs() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="notification-workers-") as directory:
        yield Path(directory)


@pytest.fixture
def start_worker(worker_logs: Path) -> Iterator[Callable[..., Worker]]:
    """Start workers (several if a test needs to replace one); every one is stopped at the end."""
    workers: list[Worker] = []

    def start(*, queue: str, smtp_port: int, broker_url: str) -> Worker:
        worker = Worker(queue=queue, smtp_port=smtp_port, broker_url=broker_url, log_dir=worker_logs)
        workers.append(worker)
        return worker.start()

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()


def new_queue() -> str:
    return f"notifications-test-{uuid.uuid4().hex[:8]}"


# ---- data migrations and transactional tests ----


def seed_migration_data() -> None:
    """What the data migrations put in: a transactional test's flush removes it for everyone after."""
    for name in SEED_MIGRATIONS:
        importlib.import_module(name).seed(django_apps, None)


@pytest.fixture
def seeded(transactional_db: None) -> None:
    # An earlier transactional test may have flushed them.
    seed_migration_data()


@pytest.fixture(scope="module")
def leave_the_seed_data_behind(django_db_blocker: Any) -> Iterator[None]:
    yield
    # After the module's last flush, so that later transactional tests find the offices again.
    with django_db_blocker.unblock():
        seed_migration_data()
