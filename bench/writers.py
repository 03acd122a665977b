"""Writers benchmark: many people acting on one application, and many patients applying at once.

Through HTTP against a real server process (gunicorn, as in production: `--workers 3`), with the
clients in another process so that neither the driver nor the clients take the server's CPU:

1. the baselines: 50 uncontended transitions (`approve_review` on 50 applications), back to back;
   and the race's own 50 requests (one approval, then 49 refusals) on another application, back to back;
2. 50 concurrent `approve_review` on one application: exactly 1 × 200, 49 × 409, no 5xx, and all 50
   done within `CONTENDED_RATIO` × either baseline (no lock convoy behind the winner);
3. the server CPU of a refused transition (a 409) beside the floor: the same URL shape with an
   unknown transition name (a 404 after the same authentication and middleware, no service);
4. 50 concurrent anonymous intakes for one office: 50 distinct, gap-free references.

Runs on PostgreSQL (DATABASE_URL) in a throwaway test database; the server listens on
BENCH_PORT (8201). Exits non-zero when a count is wrong or a ratio exceeds its target.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/writers.py
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

CONCURRENT = 50
CPU_SAMPLES = 200
PORT = int(os.environ.get("BENCH_PORT", "8201"))
SERVER = shlex.split(os.environ.get("BENCH_GUNICORN_ARGS", "--workers 3"))
# 50 contended transitions may take at most this much of the time of 50 uncontended ones in a row.
CONTENDED_RATIO = 1.5
# A refused transition may cost at most this much server CPU beside the floor request.
REFUSAL_CPU_RATIO = 2.0


# --- the client process -------------------------------------------------------------------------


def client(plan: dict[str, Any]) -> dict[str, Any]:
    """Send the plan's requests (`sequential` or `concurrent`); report statuses, bodies and wall time."""
    import requests

    base = f"http://127.0.0.1:{plan['port']}"
    calls = plan["calls"]
    headers = {"Authorization": f"Token {plan['token']}"} if plan.get("token") else {}
    answers: list[Any] = [None] * len(calls)

    def send(session: requests.Session, index: int) -> None:
        url, body = calls[index]
        try:
            response = session.post(base + url, json=body, headers=headers, timeout=120)
            answers[index] = [response.status_code, response.json()]
        except Exception as exc:  # reported, and counted as a failure by the driver
            answers[index] = [0, repr(exc)]

    if plan["mode"] == "sequential":
        session = requests.Session()
        started = time.perf_counter()
        for index in range(len(calls)):
            send(session, index)
        elapsed = time.perf_counter() - started
    else:
        barrier = threading.Barrier(len(calls) + 1)

        def racer(index: int) -> None:
            session = requests.Session()
            barrier.wait()
            send(session, index)

        threads = [threading.Thread(target=racer, args=(i,)) for i in range(len(calls))]
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "answers": answers}


def run_client(plan: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--client"], input=json.dumps(plan), capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- the server process -------------------------------------------------------------------------


def server_cpu(pid: int) -> float:
    """User + system CPU seconds of the server: the master and every worker."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for process in [str(pid), *children]:
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def start_server(database_url: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="config.settings.test")
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{PORT}", *SERVER]
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.5).close()
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start on port {PORT} (exit code {server.poll()})") from None
            time.sleep(0.2)


# --- the driver ---------------------------------------------------------------------------------


def statuses(result: dict[str, Any]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for status, _ in result["answers"]:
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))


def main() -> int:
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    if connection.vendor != "postgresql":
        print("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    from offices.models import Membership
    from security.tokens import token_issue
    from tests.conftest import make_staff
    from tests.workflow.conftest import INTAKE_FORM, advance, submit
    from workflow.models import Application

    old = setup_databases(verbosity=0, interactive=False)
    server = None
    failures: list[str] = []
    try:
        db = connection.settings_dict
        database_url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        physician = make_staff("bench-physician", {"delhi": Membership.Role.PHYSICIAN})
        token = token_issue(user=physician)
        uncontended = [submit(email=f"solo{i}@example.org") for i in range(CONCURRENT)]
        contended = submit(email="everyone@example.org")
        serial = submit(email="one-at-a-time@example.org")
        reviewed = advance(submit(email="reviewed@example.org"), "medically_reviewed")
        connection.close()
        server = start_server(database_url)

        def transition(app: Application, name: str = "approve_review") -> list[Any]:
            return [f"/api/v1/applications/{app.reference}/transitions/{name}/", {"review_notes": "Eligible"}]

        plan = {"port": PORT, "token": token}
        # Warm every worker up (imports, URL resolver, first connections) on requests that change nothing.
        run_client({**plan, "mode": "concurrent", "calls": [transition(reviewed)] * 12})

        baseline = run_client({**plan, "mode": "sequential", "calls": [transition(app) for app in uncontended]})
        # The same 50 requests as the race (one approval, then 49 refusals), one after the other.
        in_a_row = run_client({**plan, "mode": "sequential", "calls": [transition(serial)] * CONCURRENT})
        race = run_client({**plan, "mode": "concurrent", "calls": [transition(contended)] * CONCURRENT})

        cpu: dict[str, float] = {}
        for label, call in (("floor", transition(reviewed, "no_such_step")), ("refusal", transition(reviewed))):
            before = server_cpu(server.pid)
            sample = run_client({**plan, "mode": "sequential", "calls": [call] * CPU_SAMPLES})
            cpu[label] = (server_cpu(server.pid) - before) / CPU_SAMPLES
            expected = 404 if label == "floor" else 409
            if statuses(sample) != {expected: CPU_SAMPLES}:
                failures.append(f"{label} requests answered {statuses(sample)}")

        forms = [["/api/v1/applications/", {**INTAKE_FORM, "email": f"p{i}@example.org"}] for i in range(CONCURRENT)]
        intakes = run_client({"port": PORT, "mode": "concurrent", "calls": forms})

        print(f"{'case':<52} {'answers':<22} {'seconds':>8}")
        for label, result in (
            ("50 uncontended approve_review, back to back", baseline),
            ("the race's 50 requests, back to back", in_a_row),
            ("50 concurrent approve_review on one application", race),
            ("50 concurrent intakes, one office", intakes),
        ):
            print(f"{label:<52} {statuses(result)!s:<22} {result['elapsed']:>8.3f}")
        print(
            f"server CPU per request: refused transition {cpu['refusal'] * 1000:.2f} ms, "
            f"floor (unknown transition) {cpu['floor'] * 1000:.2f} ms"
        )

        if statuses(baseline) != {200: CONCURRENT}:
            failures.append(f"the uncontended transitions answered {statuses(baseline)}")
        if statuses(in_a_row) != {200: 1, 409: CONCURRENT - 1}:
            failures.append(f"the same requests back to back answered {statuses(in_a_row)}")
        if statuses(race) != {200: 1, 409: CONCURRENT - 1}:
            failures.append(f"the contended transitions answered {statuses(race)}, not 1 × 200 and 49 × 409")
        references = sorted(body["reference"] for status, body in intakes["answers"] if status == 201)
        year = references[0].split("-")[1] if references else ""
        # The office's sequence started with the applications loaded above, all in Delhi (routed by country).
        first = CONCURRENT + 4
        gap_free = [f"DEL-{year}-{n:05d}" for n in range(first, first + CONCURRENT)]
        if references != gap_free:
            failures.append(f"the intakes' references are not {gap_free[0]}…{gap_free[-1]} without gaps: {references}")

        ratios = [
            ("contended / uncontended time", race["elapsed"] / baseline["elapsed"], CONTENDED_RATIO),
            ("contended / the same requests back to back", race["elapsed"] / in_a_row["elapsed"], CONTENDED_RATIO),
            ("refused transition / floor CPU", cpu["refusal"] / cpu["floor"], REFUSAL_CPU_RATIO),
        ]
        for label, ratio, allowed in ratios:
            verdict = "ok" if ratio <= allowed else "REGRESSION"
            print(f"{label}: {ratio:.2f}x (allowed {allowed}x) {verdict}")
            if verdict != "ok":
                failures.append(f"{label} is {ratio:.2f}x")
        for failure in failures:
            print(f"FAILED: {failure}")
        return 1 if failures else 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    if sys.argv[1:] == ["--client"]:
        print(json.dumps(client(json.load(sys.stdin))))
        sys.exit(0)
    sys.exit(main())
