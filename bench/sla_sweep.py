"""SLA sweep benchmark: its cost follows the obligations that are due, not the applications.

Runs on PostgreSQL (DATABASE_URL) in a throwaway test database. For each case it loads the
applications with one open obligation each, a share of them past due, then times one sweep and
counts the obligation rows the sweep's queries read (EXPLAIN ANALYZE of its candidate queries).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/sla_sweep.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

# (applications, of which due): the 100,000 case against 10,000 with 1 % due, and against 10,000
# with as many due as the large case, which isolates the effect of the rows that are not due.
CASES = [(10_000, 100), (10_000, 1_000), (100_000, 1_000)]
# The large case may cost at most this much more than the small one with as many due rows.
ALLOWED_RATIO = 2.0


def load(total: int, due: int) -> None:
    from offices.models import Office
    from workflow.models import Application, ReplyObligation

    with connection.cursor() as cursor:
        tables = "workflow_replyobligation, notifications_notification, workflow_application"
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    office = Office.objects.get(code="europe")
    now = timezone.now()
    batch = 5_000
    for start in range(0, total, batch):
        size = min(batch, total - start)
        apps = Application.objects.bulk_create(
            Application(
                reference=f"BEN-2026-{start + i:06d}",
                office=office,
                full_name=f"Patient {start + i}",
                email=f"p{start + i}@example.org",
                date_of_birth=date(1980, 1, 1),
                sex="female",
                country="DE",
                condition="SLE",
                privacy_notice_version="2026-01",
                privacy_consent_at=now,
                received_at=now - timedelta(days=3),
            )
            for i in range(size)
        )
        ReplyObligation.objects.bulk_create(
            ReplyObligation(
                application=app,
                calendar_office_id=app.office_id,
                opened_at=now - timedelta(days=3),
                # The first `due` are past their deadline (and warning); the rest are on track.
                warn_at=now - timedelta(hours=2) if start + i < due else now + timedelta(days=2),
                due_at=now - timedelta(hours=1) if start + i < due else now + timedelta(days=3),
            )
            for i, app in enumerate(apps)
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflow_replyobligation")
        cursor.execute("ANALYZE workflow_application")


def rows_read(now) -> int:
    from workflow.services.sla import breach_candidates, warn_candidates

    total = 0
    for queryset, order in ((breach_candidates(now), "due_at"), (warn_candidates(now), "warn_at")):
        plan = json.loads(queryset.order_by(order).explain(format="json", analyze=True))
        total += _scanned(plan[0]["Plan"])
    return total


def _scanned(node: dict) -> int:
    own = 0
    if "Scan" in node["Node Type"]:
        own = int(node["Actual Rows"] * node.get("Actual Loops", 1)) + int(node.get("Rows Removed by Filter", 0))
    return own + sum(_scanned(child) for child in node.get("Plans", []))


def main() -> int:
    if connection.vendor != "postgresql":
        print("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    from offices.roles import Role
    from tests.conftest import make_staff
    from workflow.services.sla import sla_sweep

    old = setup_databases(verbosity=0, interactive=False)
    try:
        make_staff("bench-manager", {"europe": Role.MANAGER})
        make_staff("bench-coordinator", {"europe": Role.COORDINATOR})
        results = {}
        print(f"{'applications':>12} {'due':>6} {'rows read':>10} {'sweep s':>9} {'ms per due':>11}")
        for total, due in CASES:
            load(total, due)
            now = timezone.now()
            read = rows_read(now)
            started = time.perf_counter()
            outcome = sla_sweep(now)
            elapsed = time.perf_counter() - started
            assert outcome["breached"] == due, outcome
            results[(total, due)] = elapsed
            print(f"{total:>12,} {due:>6,} {read:>10,} {elapsed:>9.3f} {1000 * elapsed / due:>11.2f}")
        ratio = results[(100_000, 1_000)] / results[(10_000, 1_000)]
        verdict = "ok" if ratio <= ALLOWED_RATIO else "REGRESSION"
        print(f"100,000 vs 10,000 applications with 1,000 due: {ratio:.2f}x (allowed {ALLOWED_RATIO}x) {verdict}")
        return 0 if verdict == "ok" else 1
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
