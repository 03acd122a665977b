"""Demo data for trying the product locally. Never run against production data."""

from __future__ import annotations

from offices.services import staff_add

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - a published demo credential, see README

# (username, {office: role})
DEMO_STAFF: list[tuple[str, dict[str, str]]] = [
    ("delhi.coordinator", {"delhi": "coordinator"}),
    ("delhi.physician", {"delhi": "physician"}),
    ("delhi.manager", {"delhi": "manager"}),
    ("europe.coordinator", {"europe": "coordinator"}),
    ("europe.physician", {"europe": "physician"}),
    ("europe.manager", {"europe": "manager"}),
    ("network.manager", {"delhi": "manager", "europe": "manager"}),
]


def seed_demo() -> list[str]:
    lines = []
    for username, memberships in DEMO_STAFF:
        for office, role in memberships.items():
            staff_add(
                username=username,
                office_code=office,
                role=role,
                email=f"{username}@clinic.example",
                password=DEMO_PASSWORD,
            )
        roles = ", ".join(f"{role} at {office}" for office, role in memberships.items())
        lines.append(f"  {username} / {DEMO_PASSWORD}  ({roles})")
    return lines
