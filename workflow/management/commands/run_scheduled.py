from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config import scheduling


class Command(BaseCommand):
    help = "Run every periodic job once, as of now or of --at (ISO 8601, with a UTC offset)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--at", help="ISO 8601 instant, e.g. 2026-11-26T04:30:00Z")

    def handle(self, *args: Any, **options: Any) -> None:
        now = self.parse_at(options["at"]) if options["at"] else timezone.now()
        for name, result in scheduling.run_all(now).items():
            self.stdout.write(f"{name}: {result}")
        self.stdout.write(self.style.SUCCESS(f"Scheduled jobs ran as of {now.isoformat()}"))

    @staticmethod
    def parse_at(value: str) -> datetime:
        parsed = parse_datetime(value.replace("Z", "+00:00"))
        if parsed is None:
            raise CommandError(f"--at {value!r} is not an ISO 8601 date-time, e.g. 2026-11-26T04:30:00Z")
        if timezone.is_naive(parsed):
            raise CommandError(f"--at {value!r} needs a UTC offset or Z, e.g. 2026-11-26T04:30:00Z")
        return parsed
