"""`kehu find-duplicates`: scan every customer for likely duplicates and queue them for review."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kehu.identity.actions import do_run_scan
from kehu.identity.models import DuplicateScan, ScanStatus


class Command(BaseCommand):
    help = "Find customers who are probably the same person and queue them for review at /identity/review/."

    def handle(self, *args: Any, **options: Any) -> None:
        scan = do_run_scan(DuplicateScan.objects.create())
        if scan.status != ScanStatus.SUCCEEDED:
            raise CommandError(f"duplicate scan failed: {scan.message}")
        self.stdout.write(
            f"scanned {scan.customers_scanned:,} customers, compared {scan.pairs_compared:,} pairs; "
            f"{scan.suggestions_found:,} suggestions stored"
        )
