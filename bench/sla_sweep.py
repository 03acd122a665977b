"""The sweeps at 10,000 and at 1,000,000 applications: their cost follows the rows that are due.

For each size, a database of its own holds the data set of `bench/loader.py` (both offices, every
state, open obligations around now; loaded once, then reused). Into it the benchmark plants the
same number of due rows for each sweep, fresh each repetition:

- SLA: DUE open obligations moved past their deadline (breached by the sweep, alerts to managers);
- reminders: DUE consent reminders of quoted applications whose admission is in three days;
- aftercare: DUE monitoring checks of discharged patients, due now (alerts to coordinators).

Each sweep runs REPEAT times at each size (the fastest counts: the machine is shared), the sizes
taking turns, one process per size and turn, so that a burst of other work on the machine (an
autovacuum after a load, another benchmark's server shutting down) falls on both sizes, not on
whichever ran at that moment. Its queries are counted. Exits 1 when a sweep at 1,000,000 takes more
than ALLOWED_RATIO times as long as at 10,000, or runs more queries.

    .venv/bin/python bench/sla_sweep.py   # BENCH_DATABASE_URL names the 1,000,000 database
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SMALL, LARGE = 10_000, int(os.environ.get("BENCH_APPLICATIONS", "1000000"))
DUE = int(os.environ.get("BENCH_SWEEP_DUE", "400"))
REPEAT = int(os.environ.get("BENCH_SWEEP_REPEAT", "5"))
ALLOWED_RATIO = 1.2
SWEEPS = ("sla", "reminders", "monitoring")


def database_for(size: int) -> str:
    from bench.loader import database_url

    url = database_url()
    return url if size == LARGE else f"{url}_{size // 1000}k"


# ---- one size, in a process of its own (Django is set up once per process) ----


def plant(sweep: str, now: Any) -> list[int]:
    """DUE rows the sweep will find due at `now`; returns what `clean` needs to remove them."""
    from django.db import connection

    with connection.cursor() as cursor:
        if sweep == "sla":
            cursor.execute(
                "UPDATE workflow_replyobligation SET warn_at = %s, due_at = %s, warned_at = %s "
                "WHERE id IN (SELECT id FROM workflow_replyobligation WHERE satisfied_at IS NULL "
                "AND closed_at IS NULL AND breached_at IS NULL AND warned_at IS NULL AND due_at > %s "
                "ORDER BY id LIMIT %s) RETURNING id",
                [now - timedelta(hours=2), now - timedelta(hours=1), now - timedelta(hours=2), now, DUE],
            )
            return [pk for (pk,) in cursor.fetchall()]
        if sweep == "reminders":
            admission = (now + timedelta(days=3)).date()
            cursor.execute(
                "UPDATE workflow_application SET admission_date = %s WHERE id IN (SELECT id FROM "
                "workflow_application a WHERE state = 'quoted' AND NOT EXISTS (SELECT 1 FROM "
                "workflow_reminder r WHERE r.application_id = a.id) ORDER BY id LIMIT %s) RETURNING id",
                [admission, DUE],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
            cursor.execute(
                "INSERT INTO workflow_reminder (application_id, kind, admission_date, due_at, created_at, "
                "cancel_reason) SELECT unnest(%s::bigint[]), 'consent_reminder', %s, %s, %s, '' RETURNING id",
                [ids, admission, now - timedelta(minutes=1), now - timedelta(days=1)],
            )
            return [pk for (pk,) in cursor.fetchall()]
        cursor.execute(
            "INSERT INTO workflow_monitoringcheck (application_id, hours_after, due_at, outcome, note) "
            "SELECT id, 24, %s, '', '' FROM workflow_application a WHERE state IN ('discharged', 'in_follow_up') "
            "AND NOT EXISTS (SELECT 1 FROM workflow_monitoringcheck m WHERE m.application_id = a.id) "
            "ORDER BY id LIMIT %s RETURNING id",
            [now - timedelta(minutes=1), DUE],
        )
        return [pk for (pk,) in cursor.fetchall()]


def clean(sweep: str, planted: list[int]) -> None:
    """Remove what a repetition planted and wrote, so that the next finds the database as it was."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM notifications_notification WHERE created_at > now() - interval '1 hour'")
        cursor.execute("DELETE FROM workflow_portallink WHERE created_at > now() - interval '1 hour'")
        if sweep == "sla":
            # Back among the obligations on track, for the next repetition or run to take again.
            cursor.execute(
                "UPDATE workflow_replyobligation SET breached_at = NULL, warned_at = NULL, "
                "warn_at = now() + interval '2 days', due_at = now() + interval '3 days' WHERE id = ANY(%s)",
                [planted],
            )
        elif sweep == "reminders":
            cursor.execute("DELETE FROM workflow_reminder WHERE id = ANY(%s)", [planted])
        elif sweep == "monitoring":
            cursor.execute("DELETE FROM workflow_monitoringcheck WHERE id = ANY(%s)", [planted])


def run_size(size: int, repeat: int) -> dict[str, Any]:
    from bench.loader import load, setup_django

    setup_django(database_for(size))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from workflow.services.aftercare_sweeps import monitoring_due_sweep
    from workflow.services.reminders import reminder_sweep
    from workflow.services.sla import breach_overdue

    load(size, verbose=False)
    jobs = {"sla": breach_overdue, "reminders": reminder_sweep, "monitoring": monitoring_due_sweep}
    results: dict[str, Any] = {}
    for sweep in SWEEPS:
        times, query_counts = [], []
        for _ in range(repeat):
            # Whatever is due already (left by an interrupted run) goes first, unmeasured; it also
            # warms the caches the measured run would otherwise fill.
            jobs[sweep](timezone.now())
            clean(sweep, [])
            now = timezone.now()
            planted = plant(sweep, now)
            assert len(planted) == DUE, (sweep, len(planted))  # noqa: S101 - the data set is too small
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                done = jobs[sweep](now)
                times.append(time.perf_counter() - started)
            handled = done["sent"] if isinstance(done, dict) else done
            assert handled == DUE, (sweep, done)  # noqa: S101 - the sweep missed rows it should handle
            query_counts.append(len(queries))
            clean(sweep, planted)
        results[sweep] = {"seconds": min(times), "queries": max(query_counts)}
    return results


# ---- the driver ----


def main() -> int:
    from bench.loader import create_database

    measured: dict[int, dict[str, Any]] = {}
    for size in (SMALL, LARGE):
        create_database(database_for(size))
    for _ in range(REPEAT):
        for size in (SMALL, LARGE):
            child = subprocess.run(  # noqa: S603 - this very script, with a size
                [sys.executable, __file__, "--size", str(size)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                print(child.stdout, child.stderr, sep="\n", file=sys.stderr)
                return 2
            turn = json.loads(child.stdout.strip().splitlines()[-1])
            for sweep, result in turn.items():
                best = measured.setdefault(size, {}).setdefault(sweep, result)
                best["seconds"] = min(best["seconds"], result["seconds"])
                best["queries"] = max(best["queries"], result["queries"])
    print(f"{DUE} due rows per sweep, fastest of {REPEAT}; {SMALL:,} vs {LARGE:,} applications")
    print(f"{'sweep':<12} {'s @10k':>8} {'s @1M':>8} {'ratio':>6} {'queries':>8} {'ms per row':>11}  verdict")
    failed = False
    for sweep in SWEEPS:
        small, large = measured[SMALL][sweep], measured[LARGE][sweep]
        ratio = large["seconds"] / small["seconds"]
        ok = ratio <= ALLOWED_RATIO and large["queries"] <= small["queries"]
        failed |= not ok
        print(
            f"{sweep:<12} {small['seconds']:>8.3f} {large['seconds']:>8.3f} {ratio:>6.2f} "
            f"{small['queries']:>3}/{large['queries']:<4} {1000 * large['seconds'] / DUE:>11.2f}  "
            f"{'ok' if ok else 'REGRESSION'}"
        )
    print(f"allowed: {ALLOWED_RATIO}x, and no more queries at {LARGE:,} than at {SMALL:,}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--size":
        print(json.dumps(run_size(int(sys.argv[2]), repeat=1)))
        sys.exit(0)
    sys.exit(main())
