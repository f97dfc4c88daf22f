"""`kehu backup [FILE]`: a consistent backup of the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kehu.ops.backup import BackupError, backup


class Command(BaseCommand):
    help = "Write a consistent backup of the database (SQLite backup API or pg_dump)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="where to write it (default: var/backups/kehu-<time>.*)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            path = backup(Path(options["file"]) if options["file"] else None)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(path))
