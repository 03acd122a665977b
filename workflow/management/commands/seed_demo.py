from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from workflow.demo import DEMO_STAFF, seed_demo


class Command(BaseCommand):
    help = "Load demo staff for both offices and every role, and demo applications in every state."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="do nothing if the demo data is already loaded")

    def handle(self, *args: Any, **options: Any) -> None:
        first = DEMO_STAFF[0][0]
        if options["once"] and get_user_model().objects.filter(username=first).exists():
            self.stdout.write("Demo data already loaded.")
            return
        summary = seed_demo()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        for line in summary:
            self.stdout.write(line)
