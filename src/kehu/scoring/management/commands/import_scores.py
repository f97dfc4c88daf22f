"""`kehu import-scores FILE --cutoff DATE`: write scores computed outside the CRM (e.g. `kehu analytics
score --engine spark` over an export of the CRM's orders) back as a scoring run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Import a scores file (CSV or Parquet with the columns `kehu analytics score` writes) as a new "
        "scoring run: current scores, grade history and early warnings, as if scored in the CRM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="scores file (.csv or .parquet); customer_id is the CRM's customer id")
        parser.add_argument(
            "--cutoff", required=True, type=dt.date.fromisoformat, help="the date the scores were computed at"
        )
        parser.add_argument("--dry-run", action="store_true", help="validate the file and report, write nothing")
        parser.add_argument(
            "--no-insights",
            action="store_true",
            help="skip the cohorts/affinity/forecast insights (computed from the CRM's orders by default)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from kehu.scoring.external import ScoreFileError, do_import_scores, existing_customer_ids, read_scores_file

        path = Path(options["file"])
        try:
            scores = read_scores_file(path)
        except ScoreFileError as exc:
            raise CommandError(f"{path.name}: {exc}; nothing was imported") from exc
        if options["dry_run"]:
            known = int(scores["customer_id"].isin(existing_customer_ids()).sum())
            self.stdout.write(
                f"{path.name}: {len(scores):,} valid rows, {known:,} for existing customers "
                f"({len(scores) - known:,} would be skipped); nothing written (dry run)"
            )
            return
        run, skipped = do_import_scores(None, options["cutoff"], scores, path.name, insights=not options["no_insights"])
        self.stdout.write(
            f"imported {run.customers_scored:,} customer scores as of {run.cutoff} (run {run.pk}); "
            f"{skipped:,} rows skipped (no such customer); {run.warnings_raised:,} early warnings raised"
        )
