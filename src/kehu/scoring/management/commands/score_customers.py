"""`kehu score-customers`: score every customer now (the scheduled quarterly run does the same)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.scoring.actions import do_run_scoring
from kehu.scoring.models import RunStatus, ScoringRun


class Command(BaseCommand):
    help = "Score every customer (RFM grades, tier, lifecycle, CLV, churn) and raise grade warnings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cutoff", type=dt.date.fromisoformat, help="score as of this date (default: today)")
        parser.add_argument("--engine", choices=["auto", "database", "duckdb"], default="auto")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.utils import timezone

        run = ScoringRun.objects.create(cutoff=options["cutoff"] or timezone.localdate())
        run = do_run_scoring(run, engine=options["engine"])
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"scoring failed: {run.message}")
        self.stdout.write(
            f"scored {run.customers_scored:,} customers as of {run.cutoff}; "
            f"{run.warnings_raised:,} early warnings raised"
        )
