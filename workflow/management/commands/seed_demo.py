from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from workflow import demo


class Command(BaseCommand):
    help = (
        "Load demo staff for both offices and every role, and demo applications in every state. "
        "Safe to run again: staff are reset to the demo password, applications are added only once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="do nothing if the demo data is already loaded")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"] and demo.is_loaded():
            self.stdout.write("Demo data already loaded.")
            return
        staff, applications = demo.seed_demo()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write("Staff (username / password):")
        for line in staff:
            self.stdout.write(line)
        if applications:
            self.stdout.write("Applications (reference, state, reply promise, patient):")
            for line in applications:
                self.stdout.write(line)
        else:
            self.stdout.write("Demo applications were already there; none added.")
