"""A realistic data set for the benchmarks: N applications (default 1,000,000) in a database you name.

Both offices (60 % Delhi), every state in the shares a clinic that has run for a few years would
have, an open reply obligation on the applications that wait for the clinic (breached, due soon and
on track, their deadlines spread around now), assignees among a few staff users, names, emails and
references that look like the real ones. Rows go in with COPY, so a million takes a few minutes.

Idempotent: a database that already holds the data set of this size is reused, only moving the open
deadlines so that they sit around now again (a few hundred thousand rows, seconds). Benchmarks that
write to the data (sweeps, transitions) should load their own database, or pass `force=True`.

    .venv/bin/python bench/loader.py --database-url postgres://postgres@127.0.0.1:5432/bench \\
        --applications 1000000

From another benchmark (before Django is set up):

    from bench.loader import load, setup_django
    setup_django(database_url)
    dataset = load(applications=1_000_000)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_APPLICATIONS = 1_000_000
DELHI_SHARE = 0.6
SEED = 13
# The password of every staff user the loader creates (a benchmark signs in with it).
PASSWORD = "bench-password"  # noqa: S105 - a throwaway benchmark database

# Shares of all applications per state: most of a clinic's history is closed.
STATE_SHARES: dict[str, float] = {
    "received": 0.10,
    "medically_reviewed": 0.05,
    "quoted": 0.06,
    "admitted": 0.01,
    "discharged": 0.01,
    "in_follow_up": 0.12,
    "completed": 0.45,
    "declined": 0.10,
    "withdrawn": 0.10,
}
TERMINAL = frozenset({"completed", "declined", "withdrawn"})
# How often an application in this state waits for the clinic's reply (an open obligation).
OPEN_OBLIGATION_SHARE: dict[str, float] = {
    "received": 1.0,
    "medically_reviewed": 0.6,
    "quoted": 0.5,
    "admitted": 0.2,
    "discharged": 0.3,
    "in_follow_up": 0.15,
}
# Of the open obligations: past due, in the warning window, on track.
# A reused data set older than this has its open deadlines moved to now again.
REANCHOR_AFTER = timedelta(hours=2)
SLA_SHARES = {"breached": 0.12, "due_soon": 0.13, "on_track": 0.75}


# Staff per office: (username, role). `bench-manager` is a manager of both offices.
def staff_plan() -> dict[str, list[tuple[str, str]]]:
    """Staff per office: (username, role). `bench-manager` is a manager of both offices. A function:
    the roles are offices.roles', which needs Django set up."""
    from offices.roles import COORDINATOR, MANAGER, PHYSICIAN

    return {
        "delhi": [
            ("bench-delhi-coord-1", COORDINATOR),
            ("bench-delhi-coord-2", COORDINATOR),
            ("bench-delhi-coord-3", COORDINATOR),
            ("bench-delhi-coord-4", COORDINATOR),
            ("bench-delhi-physician-1", PHYSICIAN),
            ("bench-delhi-physician-2", PHYSICIAN),
            ("bench-manager", MANAGER),
        ],
        "europe": [
            ("bench-europe-coord-1", COORDINATOR),
            ("bench-europe-coord-2", COORDINATOR),
            ("bench-europe-coord-3", COORDINATOR),
            ("bench-europe-physician-1", PHYSICIAN),
            ("bench-manager", MANAGER),
        ],
    }


def _names(text: str) -> list[str]:
    return text.split(", ")


# Names with the long tail real ones have: the first few surnames are common, most are rare.
FIRST_NAMES = {
    "delhi": _names(
        "Aarav, Aditi, Aditya, Ananya, Arjun, Asha, Deepak, Divya, Gaurav, Ishaan, Kavya, Kiran, "
        "Lakshmi, Manish, Meera, Neha, Nikhil, Pooja, Priya, Rahul, Rajesh, Ravi, Rohan, Sanjay, Sapna, "
        "Shreya, Sunil, Sunita, Tanvi, Vikram, Yash, Zoya, Farhan, Imran, Ayesha, Nasreen, Harpreet, "
        "Gurpreet, Jaspreet, Anil, Bimal, Chetan, Dinesh, Esha, Geeta, Hema"
    ),
    "europe": _names(
        "Anna, Lukas, Marie, Jonas, Sofia, Elias, Emma, Noah, Mia, Leon, Hannah, Paul, Lena, Felix, "
        "Clara, Max, Julia, Luca, Giulia, Marco, Chiara, Pablo, Lucía, Javier, Carmen, Louis, Camille, "
        "Hugo, Chloé, Jan, Zofia, Piotr, Agnieszka, Lars, Ingrid, Sven, Astrid, Niamh, Sean, Aoife, "
        "Tomasz, Katarzyna, Eva, Ivan, Petra, Milan"
    ),
}
SURNAMES = {
    "delhi": _names(
        "Sharma, Verma, Gupta, Singh, Kumar, Patel, Agarwal, Jain, Mehta, Shah, Reddy, Rao, Nair, Iyer, "
        "Menon, Pillai, Chopra, Kapoor, Malhotra, Khanna, Bhatia, Sethi, Arora, Bansal, Goel, Mittal, "
        "Saxena, Srivastava, Tiwari, Pandey, Mishra, Dubey, Yadav, Chauhan, Rathore, Thakur, Joshi, "
        "Desai, Kulkarni, Deshpande, Banerjee, Chatterjee, Mukherjee, Das, Bose, Ghosh, Sen, Dutta, "
        "Khan, Ahmed, Qureshi, Siddiqui, Ansari, Hussain, Gill, Sandhu, Dhillon, Grewal, Sidhu, Bajwa, "
        "Chaudhary, Tripathi, Dwivedi, Shukla, Awasthi, Bhatt, Trivedi, Vyas, Naidu, Hegde, Shetty, "
        "Kamath, Prabhu, Bhat, Rai, Thapa, Gurung, Rana, Basnet, Karki, Hossain, Rahman, Islam, "
        "Chowdhury"
    ),
    "europe": _names(
        "Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, Hoffmann, Rossi, "
        "Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, García, Fernández, González, Rodríguez, "
        "López, Martínez, Sánchez, Pérez, Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, "
        "Durand, Leroy, Moreau, Nowak, Kowalski, Wiśniewski, Wójcik, Kowalczyk, Kamiński, Novák, "
        "Svoboda, Novotný, Dvořák, Jansen, de Vries, van den Berg, Bakker, Visser, Smit, Murphy, Kelly, "
        "O'Sullivan, Walsh, Byrne, Johansson, Andersson, Karlsson, Nilsson, Eriksson, Larsen, Hansen, "
        "Nielsen, Jensen, Papadopoulos, Horvath, Kovač, Popescu, Ionescu, Silva, Santos, Ferreira, "
        "Pereira, Costa, Oliveira, Lindqvist, Virtanen, Korhonen, Mäkinen, Nieminen"
    ),
}
EMAIL_DOMAINS = {
    "delhi": ["gmail.com", "yahoo.co.in", "rediffmail.com", "outlook.com", "hotmail.com"],
    "europe": ["gmail.com", "web.de", "gmx.de", "orange.fr", "libero.it", "outlook.com", "wp.pl"],
}
COUNTRIES = {
    "delhi": (["IN", "BD", "NP", "AE", "LK", "KE", "NG"], [80, 5, 5, 4, 2, 2, 2]),
    "europe": (["DE", "FR", "IT", "ES", "PL", "NL", "GB", "IE", "SE", "CZ"], [25, 15, 14, 12, 10, 8, 7, 3, 3, 3]),
}
LANGUAGES = {"IN": "hi", "DE": "de", "FR": "fr", "IT": "it", "ES": "es", "PL": "pl", "NL": "nl", "CZ": "cs"}
CONDITIONS = [
    "Multiple sclerosis",
    "Systemic lupus erythematosus",
    "Rheumatoid arthritis",
    "Spinal cord injury",
    "Cerebral palsy",
    "Autism spectrum disorder",
    "Parkinson's disease",
    "Amyotrophic lateral sclerosis",
    "Muscular dystrophy",
    "Osteoarthritis of the knee",
]
SEXES = (["female", "male", "other", "undisclosed"], [50, 47, 1, 2])

APPLICATION_COLUMNS = [
    "id",
    "reference",
    "office_id",
    "assigned_to_id",
    "state",
    "full_name",
    "email",
    "phone",
    "date_of_birth",
    "sex",
    "country",
    "preferred_language",
    "condition",
    "diagnosis_date",
    "current_medications",
    "medical_history",
    "treatment_request",
    "privacy_notice_version",
    "privacy_consent_at",
    "received_at",
    "reply_due_at",
    "reply_warn_at",
    "review_notes",
    "protocol",
    "reviewed_by_id",
    "decline_reason",
    "withdraw_reason",
    "admission_date",
    "admitted_at",
    "discharge_date",
    "discharge_summary",
    "follow_up_due_at",
    "closed_at",
    "created_at",
    "updated_at",
]
OBLIGATION_COLUMNS = [
    "application_id",
    "calendar_office_id",
    "opened_at",
    "due_at",
    "warn_at",
    "warned_at",
    "breached_at",
    "satisfied_by_action",
]


@dataclass
class Dataset:
    """What a benchmark needs to know about the loaded data: who to sign in as and what to search."""

    applications: int
    anchored_at: datetime
    offices: dict[str, int]
    # username -> {office code: role}
    staff: dict[str, dict[str, str]]
    # Search terms that match: a surname, a reference and an email of a Delhi application.
    surname: str = ""
    reference: str = ""
    email: str = ""
    reused: bool = False
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def database_url(default: str | None = None) -> str:
    return (
        default
        or os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or "postgres://postgres@127.0.0.1:5432/bench"
    )


def create_database(url: str) -> None:
    """CREATE DATABASE if it is missing (connecting to the server's `postgres` database)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str | None = None, *, settings_module: str = "config.settings.test") -> str:
    """Point Django at the benchmark database (created if missing) and set it up. Returns the URL."""
    import django

    url = database_url(url)
    create_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    django.setup()
    return url


def load(
    applications: int = DEFAULT_APPLICATIONS,
    *,
    force: bool = False,
    swept: bool = True,
    seed: int = SEED,
    now: datetime | None = None,
    verbose: bool = True,
) -> Dataset:
    """Migrate the configured database and make it hold the data set of `applications` rows.

    `swept`: obligations past their warning or deadline are marked warned / breached, as a running
    beat would have left them; pass False for a sweep benchmark that wants them all due.
    """
    from django.core.management import call_command
    from django.db import connection, transaction

    started = time.perf_counter()
    now = now or datetime.now(UTC)
    say = print if verbose else _quiet
    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_dataset (id int PRIMARY KEY, applications int NOT NULL, "
            "seed int NOT NULL, swept boolean NOT NULL, anchored_at timestamptz NOT NULL, info jsonb NOT NULL)"
        )
        cursor.execute("SELECT applications, seed, swept, anchored_at, info FROM bench_dataset WHERE id = 1")
        marker = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM workflow_application")
        (present,) = cursor.fetchone()
    offices = _offices()
    staff = _ensure_staff(offices)
    if not force and marker and marker[:3] == (applications, seed, swept) and present == applications:
        # Django reads jsonb as text and decodes it in its fields; a raw cursor gets the text.
        info = json.loads(marker[4]) if isinstance(marker[4], str) else marker[4]
        _reanchor(marker[3], now)
        dataset = Dataset(
            applications,
            now,
            offices,
            staff,
            reused=True,
            surname=info["surname"],
            reference=info["reference"],
            email=info["email"],
        )
        dataset.seconds = time.perf_counter() - started
        say(f"Reusing {applications:,} applications (moved their deadlines to now) in {dataset.seconds:.1f} s.")
        return dataset

    say(f"Loading {applications:,} applications …")
    user_ids = _user_ids(staff)
    rng = random.Random(seed)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE workflow_application, workflow_referencesequence RESTART IDENTITY CASCADE")
        cursor.execute("DELETE FROM bench_dataset")
    rows, obligations, info = _generate(applications, rng=rng, now=now, offices=offices, users=user_ids, swept=swept)
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        cursor.execute("SET LOCAL synchronous_commit = off")
        with raw.copy(f"COPY workflow_application ({', '.join(APPLICATION_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        with raw.copy(f"COPY workflow_replyobligation ({', '.join(OBLIGATION_COLUMNS)}) FROM STDIN") as copy:
            for row in obligations:
                copy.write_row(row)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('workflow_application', 'id'), "
            "(SELECT max(id) FROM workflow_application))"
        )
        # New intakes (the writers benchmark) continue each office's numbering.
        cursor.execute(
            "INSERT INTO workflow_referencesequence (office_id, year, last_number) "
            "SELECT office_id, extract(year FROM received_at)::int, count(*) FROM workflow_application "
            "GROUP BY 1, 2"
        )
        cursor.execute(
            "INSERT INTO bench_dataset VALUES (1, %s, %s, %s, %s, %s)",
            [applications, seed, swept, now, json.dumps(info)],
        )
    _vacuum("workflow_application", "workflow_replyobligation", "workflow_referencesequence")
    dataset = Dataset(
        applications, now, offices, staff, surname=info["surname"], reference=info["reference"], email=info["email"]
    )
    dataset.seconds = time.perf_counter() - started
    say(f"Loaded {applications:,} applications in {dataset.seconds:.1f} s.")
    return dataset


def _quiet(*args: object, **kwargs: object) -> None:
    pass


def _offices() -> dict[str, int]:
    from offices.models import Office

    return dict(Office.objects.values_list("code", "pk"))


def _ensure_staff(offices: dict[str, int]) -> dict[str, dict[str, str]]:
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User

    from offices.models import Membership

    staff: dict[str, dict[str, str]] = {}
    for code, members in staff_plan().items():
        for username, role in members:
            staff.setdefault(username, {})[code] = role
    password = make_password(PASSWORD)
    for username, roles in staff.items():
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={"email": f"{username}@clinic.example", "is_staff": True, "password": password},
        )
        for code, role in roles.items():
            Membership.objects.update_or_create(user=user, office_id=offices[code], defaults={"role": role})
    return staff


def _user_ids(staff: dict[str, dict[str, str]]) -> dict[tuple[str, str], list[int]]:
    """(office code, role) -> user ids, in the order staff_plan() lists them."""
    from django.contrib.auth.models import User

    ids = dict(User.objects.filter(username__in=list(staff)).values_list("username", "pk"))
    by_role: dict[tuple[str, str], list[int]] = {}
    for code, members in staff_plan().items():
        for username, role in members:
            by_role.setdefault((code, role), []).append(ids[username])
    return by_role


def _ascii(text: str) -> str:
    return (
        unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "").replace("'", "")
    )


def _zipf_weights(count: int) -> list[float]:
    return [1 / (rank + 1) ** 0.9 for rank in range(count)]


def _generate(
    total: int,
    *,
    rng: random.Random,
    now: datetime,
    offices: dict[str, int],
    users: dict[tuple[str, str], list[int]],
    swept: bool,
) -> tuple[Iterator[Sequence[Any]], list[Sequence[Any]], dict[str, str]]:
    """The application rows (in received_at order, ids 1..total) and the open obligations."""
    from offices.roles import COORDINATOR, PHYSICIAN

    codes = ["delhi" if rng.random() < DELHI_SHARE else "europe" for _ in range(total)]
    states = rng.choices(list(STATE_SHARES), weights=list(STATE_SHARES.values()), k=total)
    history_start = datetime(2022, 1, 1, tzinfo=UTC)
    history = (now - timedelta(days=30) - history_start).total_seconds()
    plans: list[tuple[datetime, str, str, str | None, datetime | None, datetime | None]] = []
    for code, state in zip(codes, states, strict=True):
        sla: str | None = None
        due = warn = opened = None
        if state in OPEN_OBLIGATION_SHARE and rng.random() < OPEN_OBLIGATION_SHARE[state]:
            sla = rng.choices(list(SLA_SHARES), weights=list(SLA_SHARES.values()))[0]
            due, warn, opened = _deadlines(sla, rng=rng, now=now)
        if state in TERMINAL:
            received = history_start + timedelta(seconds=rng.random() * history)
        elif state == "received":
            received = opened or now - timedelta(hours=rng.uniform(1, 96))
        else:
            received = now - timedelta(days=rng.uniform(3, 150))
        if opened is not None and opened < received:
            opened = received
        plans.append((received, code, state, sla, due, warn))
    plans.sort(key=lambda plan: plan[0])

    numbers: dict[tuple[str, int], int] = {}
    info: dict[str, str] = {}
    first = {code: (names, _zipf_weights(len(names))) for code, names in FIRST_NAMES.items()}
    last = {code: (names, _zipf_weights(len(names))) for code, names in SURNAMES.items()}
    protocol = json.dumps(_default_protocol())
    obligations: list[Sequence[Any]] = []

    def rows() -> Iterator[Sequence[Any]]:
        for pk, (received, code, state, _sla, due, warn) in enumerate(plans, start=1):
            key = (code, received.year)
            numbers[key] = numbers.get(key, 0) + 1
            reference = f"{code[:3].upper()}-{received.year}-{numbers[key]:05d}"
            given = rng.choices(*first[code])[0]
            family = rng.choices(*last[code])[0]
            email = f"{_ascii(given)}.{_ascii(family)}{rng.randint(1, 9999)}@{rng.choice(EMAIL_DOMAINS[code])}"
            country = rng.choices(*COUNTRIES[code])[0]
            office_id = offices[code]
            coordinators = users[(code, COORDINATOR)]
            physicians = users[(code, PHYSICIAN)]
            assigned = None
            if rng.random() < (0.9 if state in TERMINAL else 0.75):
                assigned = rng.choices(coordinators, weights=_zipf_weights(len(coordinators)))[0]
            reviewed = state not in ("received", "withdrawn")
            admitted = state in ("admitted", "discharged", "in_follow_up", "completed")
            discharged = state in ("discharged", "in_follow_up", "completed")
            admission_date = (received + timedelta(days=rng.randint(14, 60))).date() if admitted else None
            discharge_date = admission_date + timedelta(days=7) if discharged and admission_date else None
            if admission_date and not discharged and admission_date > now.date():
                admission_date = now.date() - timedelta(days=rng.randint(0, 5))
            if code == "delhi" and not info and state == "received":
                # Search terms the benchmark uses: a surname of the long tail (a few thousand rows, so
                # the deadline order alone does not find 50 of them quickly), this reference, this email.
                info.update(surname=last[code][0][40], reference=reference, email=email)
            yield (
                pk,
                reference,
                office_id,
                assigned,
                state,
                f"{given} {family}",
                email,
                f"+{rng.randint(30, 99)} {rng.randint(600_000_000, 999_999_999)}",
                date(rng.randint(1945, 2012), rng.randint(1, 12), rng.randint(1, 28)),
                rng.choices(*SEXES)[0],
                country,
                LANGUAGES.get(country, "en"),
                rng.choice(CONDITIONS),
                date(rng.randint(2005, 2025), rng.randint(1, 12), 1) if rng.random() < 0.7 else None,
                "Methotrexate 15 mg weekly" if rng.random() < 0.3 else "",
                "Diagnosed after an MRI; physiotherapy twice a week." if rng.random() < 0.5 else "",
                "Stem cell treatment, a 7-day protocol." if rng.random() < 0.6 else "",
                "2026-01",
                received,
                received,
                due,
                warn,
                "Suitable for the standard protocol." if reviewed else "",
                protocol,
                rng.choice(physicians) if reviewed else None,
                "Outside the treatable range." if state == "declined" else "",
                "The patient chose another clinic." if state == "withdrawn" else "",
                admission_date,
                datetime.combine(admission_date, datetime.min.time(), tzinfo=UTC) if admission_date else None,
                discharge_date,
                "Protocol completed without events." if discharge_date else "",
                now + timedelta(hours=rng.uniform(1, 47)) if state == "discharged" else None,
                min(received + timedelta(days=rng.randint(30, 400)), now) if state in TERMINAL else None,
                received,
                received,
            )
            if due is not None and warn is not None:
                opened = min(received, warn - timedelta(hours=6))
                if state == "received":
                    opened = received
                obligations.append(
                    (
                        pk,
                        office_id,
                        opened,
                        due,
                        warn,
                        warn + timedelta(minutes=1) if swept and warn + timedelta(minutes=1) <= now else None,
                        due + timedelta(minutes=1) if swept and due + timedelta(minutes=1) <= now else None,
                        "",
                    )
                )

    # The obligations list fills while the applications stream out: copy it after them.
    return rows(), obligations, info


def _deadlines(sla: str, *, rng: random.Random, now: datetime) -> tuple[datetime, datetime, datetime]:
    """(due_at, warn_at, opened_at) for an obligation of this status; margins keep the status for hours."""
    if sla == "breached":
        due = now - timedelta(hours=rng.expovariate(1 / 30) + 0.5)
        warn = due - timedelta(hours=rng.uniform(4, 12))
    elif sla == "due_soon":
        due = now + timedelta(hours=rng.uniform(2, 10))
        warn = now - timedelta(hours=rng.uniform(1, 4))
    else:
        due = now + timedelta(hours=rng.uniform(20, 96))
        warn = max(due - timedelta(hours=rng.uniform(4, 12)), now + timedelta(hours=8))
    return due, warn, warn - timedelta(hours=rng.uniform(12, 36))


def _default_protocol() -> list[dict[str, Any]]:
    from workflow.models.application import default_protocol

    return default_protocol()


def _reanchor(anchored_at: datetime, now: datetime) -> None:
    """Move every open deadline by the time since the data set was anchored: the statuses stay as loaded."""
    from django.db import connection

    shift = now - anchored_at
    # The loaded statuses keep for hours (due-soon deadlines are 2 h or more ahead): moving a few
    # hundred thousand rows through every index of the table is worth it only now and then.
    if shift < REANCHOR_AFTER:
        return
    seconds = shift.total_seconds()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE workflow_application SET reply_due_at = reply_due_at + make_interval(secs => %(s)s), "
            "reply_warn_at = reply_warn_at + make_interval(secs => %(s)s), "
            "follow_up_due_at = follow_up_due_at + make_interval(secs => %(s)s) "
            "WHERE reply_due_at IS NOT NULL OR follow_up_due_at IS NOT NULL",
            {"s": seconds},
        )
        moved = ", ".join(
            f"{column} = {column} + make_interval(secs => %(s)s)"
            for column in ("opened_at", "due_at", "warn_at", "warned_at", "breached_at")
        )
        cursor.execute(
            f"UPDATE workflow_replyobligation SET {moved} WHERE satisfied_at IS NULL AND closed_at IS NULL",  # noqa: S608 - column names only
            {"s": seconds},
        )
        cursor.execute("UPDATE bench_dataset SET anchored_at = %s WHERE id = 1", [now])
    # The update left a new version of a quarter of the rows, on most pages of the table.
    _vacuum("workflow_application", "workflow_replyobligation")


def _vacuum(*tables: str, attempts: int = 5) -> None:
    """Fresh statistics and a visibility map, as autovacuum keeps them in a database that has run a while:
    without them the planner guesses, and an index-only scan (the queue's capped count) visits the heap
    for every row it counts.

    VACUUM marks a page all-visible only when no transaction still running could miss one of its rows:
    one that began before the load (an autovacuum ANALYZE of another table, a client left open) leaves
    the map empty. So the map is checked, and VACUUM repeated until it covers the table.
    """
    from django.db import connection

    for table in tables:
        for attempt in range(attempts):
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM ANALYZE {table}")
                cursor.execute("SELECT relpages, relallvisible FROM pg_class WHERE relname = %s", [table])
                pages, visible = cursor.fetchone()
            if visible >= 0.95 * pages:
                break
            time.sleep(2**attempt)
        else:
            print(f"{table}: only {visible:,} of {pages:,} pages are all-visible after VACUUM", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", default=None, help="default: BENCH_DATABASE_URL, then DATABASE_URL")
    parser.add_argument("--applications", type=int, default=DEFAULT_APPLICATIONS)
    parser.add_argument("--force", action="store_true", help="reload even if the data set is there")
    parser.add_argument("--unswept", action="store_true", help="leave past-due obligations unwarned, unbreached")
    args = parser.parse_args(argv)
    url = setup_django(args.database_url)
    dataset = load(args.applications, force=args.force, swept=not args.unswept)
    print(
        f"{url.rsplit('/', 1)[-1]}: {dataset.applications:,} applications; search terms {dataset.surname!r}, "
        f"{dataset.reference!r}, {dataset.email!r}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
