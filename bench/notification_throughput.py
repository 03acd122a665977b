"""Notification delivery: the outbox beside a bare `send_mail` loop to the same SMTP sink, in one run.

1. Floor: a bare loop of Django `send_mail` calls (one SMTP connection each, as `send_mail` opens
   it), from this process, to the sink.
2. Throughput: BENCH_NOTIFICATIONS pending rows handed over by the relay sweep to a real Celery
   worker (its own processes), which claims them in batches and sends each batch over one SMTP
   connection. Target: at least MIN_RATIO of the bare loop's emails per second.
3. Latency: with the worker live, rows committed one at a time at a steady pace (each published
   after its commit, as an event's rows are); commit-to-acceptance p99 under MAX_P99_SECONDS.

The SMTP sink runs in a process of its own, and this driver only sleeps and polls while the worker
works, so neither steals the worker's CPU. Needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL).
Exits 1 when a target is missed, a row is lost or an email doubled.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/notification_throughput.py
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

COUNT = int(os.environ.get("BENCH_NOTIFICATIONS", "2000"))
LATENCY_COUNT = int(os.environ.get("BENCH_LATENCY_NOTIFICATIONS", "200"))
# One commit every 20 ms: 50 events a second, a busy clinic network's peak and then some.
LATENCY_PACE_SECONDS = 0.02
WORKER_CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "2"))
MIN_RATIO = 0.8
MAX_P99_SECONDS = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- the SMTP sink, in its own process ----


def run_sink(port: int) -> None:
    """Accept every message; answer `count`, `times` (subject → arrival) and `reset` on stdin."""
    import logging
    import threading

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    lock = threading.Lock()
    arrivals: dict[str, float] = {}
    state = {"count": 0}

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
            at = time.time()
            content: bytes = envelope.original_content or b""
            start = content.find(b"\nSubject: ")
            subject = content[start + 10 : content.find(b"\n", start + 10)].strip().decode() if start >= 0 else ""
            with lock:
                state["count"] += 1
                arrivals.setdefault(subject, at)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        with lock:
            if command == "count":
                print(state["count"], flush=True)
            elif command == "times":
                print(json.dumps(arrivals), flush=True)
            elif command == "reset":
                state["count"] = 0
                arrivals.clear()
                print("ok", flush=True)
    controller.stop()


class Sink:
    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--sink", str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.ask_line() == "ready"  # noqa: S101 - the sink's own handshake

    def ask_line(self, command: str | None = None) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None  # noqa: S101
        if command is not None:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def count(self) -> int:
        return int(self.ask_line("count"))

    def times(self) -> dict[str, float]:
        times: dict[str, float] = json.loads(self.ask_line("times"))
        return times

    def reset(self) -> None:
        self.ask_line("reset")

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)


def wait_for(sink: Sink, count: int, *, timeout: float = 600) -> float:
    started = time.perf_counter()
    while sink.count() < count and time.perf_counter() - started < timeout:
        time.sleep(0.05)
    return time.perf_counter()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    sink = Sink()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{sink.port}"

    import django

    django.setup()
    from django.conf import settings
    from django.core.mail import send_mail
    from django.db import connection, transaction
    from django.test.utils import setup_databases, teardown_databases
    from django.utils import timezone

    if connection.vendor != "postgresql":
        print("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    old = setup_databases(verbosity=0, interactive=False)
    worker = None
    try:
        from config.celery_app import app
        from notifications import relay
        from notifications.models import Notification

        def row(i: int, subject: str, now: Any) -> Notification:
            return Notification(
                kind="outbound_message",
                audience="patient",
                recipient_email=f"patient{i}@example.org",
                dedup_key=f"bench-{subject}",
                subject=subject,
                body_text="Body",
                body_html="<p>Body</p>",
                from_email="clinic@localhost",
                not_before=now,
                created_at=now,
            )

        # 1. The floor.
        started = time.perf_counter()
        for i in range(COUNT):
            send_mail(f"Bare {i}", "Body", "clinic@localhost", [f"patient{i}@example.org"])
        bare = wait_for(sink, COUNT) - started
        sink.reset()

        # 2. Throughput through the outbox.
        now = timezone.now()
        Notification.objects.bulk_create(row(i, f"Outbox {i}", now) for i in range(COUNT))
        db = connection.settings_dict
        env = dict(
            os.environ,
            DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
        )
        nodename = f"bench-{os.getpid()}@localhost"
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
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                nodename,
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,
            ],
            env=env,
            cwd=ROOT,
        )
        while not app.control.ping(destination=[nodename], timeout=0.5):
            time.sleep(0.2)
        started = time.perf_counter()
        while relay.sweep(timezone.now())["due"]:
            pass
        outbox = wait_for(sink, COUNT) - started
        # A duplicate would come right behind its original.
        time.sleep(1)
        delivered = sink.count()
        sent = Notification.objects.filter(status="sent").count()

        # 3. Commit-to-delivery with the worker live.
        sink.reset()
        committed: dict[str, float] = {}
        for i in range(LATENCY_COUNT):
            subject = f"Latency {i}"
            with transaction.atomic():
                notification = row(COUNT + i, subject, timezone.now())
                notification.save()
                relay.kick_after_commit(notification.pk)
                committed[subject] = time.time()
            time.sleep(LATENCY_PACE_SECONDS)
        wait_for(sink, LATENCY_COUNT, timeout=60)
        arrivals = sink.times()
        latencies = [arrivals[s] - t for s, t in committed.items() if s in arrivals]

        bare_rate, outbox_rate = COUNT / bare, sent / outbox
        ratio = outbox_rate / bare_rate
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        batch = settings.NOTIFICATION_BATCH_SIZE
        print(f"{'path':<44} {'emails':>7} {'seconds':>8} {'per second':>11}")
        print(f"{'bare send_mail loop (floor)':<44} {COUNT:>7} {bare:>8.2f} {bare_rate:>11.1f}")
        label = f"outbox, worker x{WORKER_CONCURRENCY}, batches of {batch}"
        print(f"{label:<44} {sent:>7} {outbox:>8.2f} {outbox_rate:>11.1f}")
        print(f"outbox / bare throughput: {ratio:.2f}x (target >= {MIN_RATIO}x)")
        print(f"delivered {delivered}, rows sent {sent}, duplicates {delivered - sent}")
        print(
            f"commit to delivery, {len(latencies)}/{LATENCY_COUNT} emails one every "
            f"{LATENCY_PACE_SECONDS * 1000:.0f} ms: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
            f"(target < {MAX_P99_SECONDS:.0f} s)"
        )
        failures = []
        if ratio < MIN_RATIO:
            failures.append("throughput")
        if sent != COUNT or delivered != sent:
            failures.append("lost or doubled")
        if len(latencies) != LATENCY_COUNT or p99 >= MAX_P99_SECONDS:
            failures.append("latency")
        print("ok" if not failures else f"FAILED: {', '.join(failures)}")
        return 1 if failures else 0
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        teardown_databases(old, verbosity=0)
        sink.stop()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--sink":
        run_sink(int(sys.argv[2]))
    else:
        sys.exit(main())
