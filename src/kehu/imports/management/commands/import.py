"""`kehu import KIND FILE`: import customers, orders, products or stores from CSV or XLSX.

Prints progress to stderr and a JSON summary as the last line of stdout. Exit codes: 0 done
(skipped rows are listed in the report), 1 an atomic import was refused or the import stopped,
2 the input is unusable (missing file, unknown kind, unreadable encoding, missing column)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.imports.actions import (
    DEFAULT_CHUNK_ROWS,
    check_create_job,
    do_run_import,
    do_save_mapping,
    load_mapping,
)
from kehu.imports.models import ImportMode, JobStatus
from kehu.imports.readers import UnusableInput


class Command(BaseCommand):
    help = "Import customers, orders, products or stores from a CSV or XLSX file."
    requires_system_checks: list[str] = []  # a data command: it needs the database, not URL or admin checks

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", help="customers, orders, products, stores (or a kind another app registered)")
        parser.add_argument("file", help="a .csv (UTF-8 or GBK) or .xlsx file")
        parser.add_argument("--mode", choices=ImportMode.values, default=ImportMode.SKIP)
        parser.add_argument("--report", help="write the row errors to this CSV file")
        parser.add_argument("--mapping", help='JSON file {"file column": "field"} or the name of a saved mapping')
        parser.add_argument("--save-mapping", metavar="NAME", help="keep the --mapping under this name")
        parser.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
        parser.add_argument("--source", default="import", help="source system the rows come from (default: import)")
        parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            mapping = load_mapping(options["kind"], options["mapping"]) if options["mapping"] else None
            job = check_create_job(
                None, options["kind"], path, mode=options["mode"], source=options["source"],
                mapping=mapping, dry_run=options["dry_run"],
            )  # fmt: skip
            if options["save_mapping"] and mapping:
                do_save_mapping(None, options["kind"], options["save_mapping"], mapping)
            bar = self._progress_bar(job.file_name, options["no_progress"])
            try:
                do_run_import(job, chunk_rows=max(100, options["chunk_rows"]), progress=bar.update if bar else None)
            finally:
                if bar:
                    bar.close()
        except UnusableInput as exc:
            raise CommandError(str(exc), returncode=2) from None
        except Exception as exc:
            raise CommandError(f"The import stopped: {exc}", returncode=1) from None
        if options["report"]:
            Path(options["report"]).write_text(job.error_report, encoding="utf-8-sig")
        if job.message:
            self.stderr.write(job.message)
        self.stdout.write(json.dumps(job.summary()))
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(job.message or job.status, returncode=1)

    def _progress_bar(self, file_name: str, disabled: bool) -> Any:
        if disabled:
            return None
        from tqdm import tqdm

        from kehu.imports.readers import count_rows

        return tqdm(total=count_rows(Path(file_name)), unit=" rows", file=self.stderr._out, mininterval=1.0)
