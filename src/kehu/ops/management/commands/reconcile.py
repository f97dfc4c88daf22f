"""`kehu reconcile`: prove cached figures equal their sources and repair any drift."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kehu.customers.actions import (
    do_index_unsearchable_names,
    do_refresh_purchase_stats,
    do_repair_search_rank,
    purchase_stats_drift,
    search_rank_drift,
)


class Command(BaseCommand):
    help = (
        "Check customers' cached purchase figures against their orders, and the name search's copy of "
        "each customer's spend against the customer, and repair any drift; index names that have no search tokens."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        drift = purchase_stats_drift()
        if drift:
            do_refresh_purchase_stats()
        self.stdout.write(f"purchase figures: {drift} customers drifted" + (", repaired" if drift else ""))
        tokens = search_rank_drift()
        if tokens:
            do_repair_search_rank()
        self.stdout.write(f"name search ranking: {tokens} tokens drifted" + (", repaired" if tokens else ""))
        unindexed = do_index_unsearchable_names()
        self.stdout.write(f"name search: {unindexed} customers had no name tokens" + (", indexed" if unindexed else ""))
