"""`kehu purge_exports`: delete export files past their expiry (the scheduler runs it hourly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kehu.exports.actions import do_purge_expired_exports


class Command(BaseCommand):
    help = "Delete export files whose time has run out."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"expired exports removed: {do_purge_expired_exports()}")
