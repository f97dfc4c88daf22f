"""`kehu demo-data`: generate a realistic demo retailer (customers, orders, returns, shipments)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime


class Command(BaseCommand):
    help = (
        "Generate a realistic Chinese omnichannel fashion retailer: stores, products, customers and about three "
        "years of orders, returns, shipments and timeline entries. Refuses if demo data exists, unless --reset."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customers", type=int, default=2000, help="Number of customers to generate (default 2000)."
        )
        parser.add_argument("--seed", type=int, default=1, help="Random seed; the same seed gives the same data.")
        parser.add_argument("--reset", action="store_true", help="Delete existing demo data (source 'demo') first.")
        parser.add_argument(
            "--staff-password",
            help="Also create one demo staff user per role (admin, marketing, sales, service, store_manager, "
            "analyst) with this password, unless they exist.",
        )
        parser.add_argument(
            "--now",
            help="End of the simulated history as an ISO date-time (default: the start of the current hour).",
        )
        parser.add_argument("--years", type=float, default=3.0, help="Years of history (default 3).")
        parser.add_argument(
            "--tracking-months",
            type=int,
            default=6,
            help="Generate parcel tracking events for shipments of the last N months (default 6).",
        )
        parser.add_argument("--chunk-size", type=int, default=50_000, help="Customers per chunk (default 50000).")
        parser.add_argument("--no-progress", action="store_true", help="Do not show a progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        from kehu.demo.generate import DemoDataExists, ensure_demo_staff, generate

        if options["customers"] < 0:
            raise CommandError("--customers must be zero or more.")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        now = None
        if options["now"]:
            now = parse_datetime(options["now"])
            if now is None:
                raise CommandError("--now must be an ISO date-time, e.g. 2026-01-01T00:00:00+08:00.")
            if now.tzinfo is None:
                now = now.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
        if options["staff_password"]:
            staff = ensure_demo_staff(options["staff_password"])
            self.stdout.write("Demo staff: " + ", ".join(u.username for u in staff))
        try:
            result = generate(
                customers=options["customers"],
                seed=options["seed"],
                reset=options["reset"],
                now=now,
                years=options["years"],
                tracking_months=options["tracking_months"],
                chunk_size=options["chunk_size"],
                progress=not options["no_progress"],
            )
        except DemoDataExists as exc:
            raise CommandError(f"{exc} Use --reset to replace it.") from exc
        if result.deleted:
            self.stdout.write(f"Deleted {result.deleted:,} rows of earlier demo data.")
        for table, rows in sorted(result.rows.items()):
            self.stdout.write(f"  {table:<32} {rows:>12,}")
        self.stdout.write(
            f"Generated {result.total_rows:,} rows in {result.elapsed:.1f} s "
            f"({result.total_rows / max(result.elapsed, 1e-9):,.0f} rows/s)."
        )
