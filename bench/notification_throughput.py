"""Notification throughput: 2,000 emails through the outbox and a real Celery worker, beside a
bare loop of Django `send_mail` calls to the same local SMTP sink, in the same run.

Needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); starts its own SMTP sink and worker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/notification_throughput.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

COUNT = int(os.environ.get("BENCH_NOTIFICATIONS", "2000"))
WORKER_CONCURRENCY = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sink:
    """Counts messages the SMTP server accepted."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.count += 1
        return "250 OK"


def main() -> int:
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    port = free_port()
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"

    import django

    django.setup()
    from django.conf import settings
    from django.core.mail import send_mail
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases
    from django.utils import timezone

    if connection.vendor != "postgresql":
        print("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    old = setup_databases(verbosity=0, interactive=False)
    worker = None
    try:
        from notifications import relay
        from notifications.models import Notification

        # Baseline: the bare loop, one SMTP connection per message as send_mail opens it.
        started = time.perf_counter()
        for i in range(COUNT):
            send_mail(f"Bare {i}", "Body", "clinic@localhost", [f"patient{i}@example.org"])
        bare = time.perf_counter() - started
        sink.count = 0

        now = timezone.now()
        Notification.objects.bulk_create(
            Notification(
                kind="outbound_message",
                audience="patient",
                recipient_email=f"patient{i}@example.org",
                dedup_key=f"bench-{i}",
                subject=f"Outbox {i}",
                body_text="Body",
                body_html="<p>Body</p>",
                from_email="clinic@localhost",
                not_before=now,
                created_at=now,
            )
            for i in range(COUNT)
        )
        db = connection.settings_dict
        env = dict(
            os.environ,
            DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
        )
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel=WARNING",
                f"--concurrency={WORKER_CONCURRENCY}",
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,
            ],
            env=env,
            cwd=ROOT,
        )
        from config.celery_app import app

        while not app.control.ping(timeout=0.5):
            time.sleep(0.2)
        started = time.perf_counter()
        while Notification.objects.filter(status="pending").exists():
            relay.sweep(timezone.now())
        while sink.count < COUNT and time.perf_counter() - started < 600:
            time.sleep(0.05)
        outbox = time.perf_counter() - started
        sent = Notification.objects.filter(status="sent").count()
        print(f"{'path':<34} {'emails':>7} {'seconds':>8} {'per second':>11}")
        print(f"{'bare send_mail loop':<34} {COUNT:>7} {bare:>8.2f} {COUNT / bare:>11.1f}")
        print(f"{'outbox + relay + Celery worker':<34} {sent:>7} {outbox:>8.2f} {sent / outbox:>11.1f}")
        print(f"outbox / bare throughput: {(sent / outbox) / (COUNT / bare):.2f}")
        duplicates = sink.count - sent
        print(f"delivered {sink.count}, rows sent {sent}, duplicates {duplicates}")
        return 0 if sent == COUNT and duplicates == 0 else 1
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        teardown_databases(old, verbosity=0)
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
