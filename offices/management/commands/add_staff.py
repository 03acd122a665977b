from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from offices.models import Membership
from offices.services import staff_add


class Command(BaseCommand):
    help = "Create or update a staff member with a role in one office."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--office", required=True, help="office code, e.g. delhi or europe")
        parser.add_argument("--role", required=True, choices=Membership.Role.values)
        parser.add_argument("--email")
        parser.add_argument("--password")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user, created = staff_add(
                username=options["username"],
                office_code=options["office"],
                role=options["role"],
                email=options["email"],
                password=options["password"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(m for messages in exc.message_dict.values() for m in messages)) from exc
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} {user.username}: {options['role']} at {options['office']}"))
