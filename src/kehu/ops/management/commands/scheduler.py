"""`kehu scheduler`: run the periodic jobs (one per installation)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kehu.ops.scheduler import periodic_jobs, run_scheduler


class Command(BaseCommand):
    help = "Run the periodic jobs (quarterly rescoring, nightly reconciliation). Run one per installation."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--list", action="store_true", help="print the schedule and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for job in periodic_jobs():
                self.stdout.write(f"{job.name:12} {job.cron}")
            return
        run_scheduler()
