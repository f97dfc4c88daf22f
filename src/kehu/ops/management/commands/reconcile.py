"""`kehu reconcile`: prove cached figures equal their sources and repair any drift."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kehu.customers.actions import do_refresh_purchase_stats, purchase_stats_drift


class Command(BaseCommand):
    help = "Check customers' cached purchase figures against their orders and repair any drift."

    def handle(self, *args: Any, **options: Any) -> None:
        drift = purchase_stats_drift()
        if drift:
            do_refresh_purchase_stats()
        self.stdout.write(f"purchase figures: {drift} customers drifted" + (", repaired" if drift else ""))
