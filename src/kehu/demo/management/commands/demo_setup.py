"""`kehu demo-setup`: fill an empty database with demo data and staff, then print the logins.
Run by `make demo`; safe to run again (it neither duplicates data nor changes passwords)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from kehu.commerce.models import Order


class Command(BaseCommand):
    help = "Load demo data into an empty database, create one staff user per role and print the logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=5000)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        from kehu.demo.generate import ensure_demo_staff, generate

        password_file = settings.VAR_DIR / ".demo-password"
        if password_file.exists():
            password = password_file.read_text().strip()
        else:
            password = secrets.token_urlsafe(12)
            password_file.write_text(password)
            password_file.chmod(0o600)
        staff = ensure_demo_staff(password)
        if not Order.objects.filter(source_system="demo").exists():
            self.stdout.write(f"Generating demo data for {options['customers']:,} customers…")
            generate(customers=options["customers"], seed=options["seed"])
            self._lookalikes(options["customers"], options["seed"])
            self._score_history()
        url = settings.SITE_URL
        lines = [
            "",
            "=" * 64,
            f"  kehu is starting on {url}/",
            f"  Log in as:  admin  /  {password}",
            "  Other demo staff (same password): " + ", ".join(u.username for u in staff if u.username != "admin"),
            "=" * 64,
            "",
        ]
        self.stdout.write("\n".join(lines))

    def _lookalikes(self, customers: int, seed: int) -> None:
        """A few customers registered twice under a homophone name, found by a duplicate scan,
        so the review queue has pairs to look at on the first login."""
        from kehu.demo.lookalikes import plant_lookalikes
        from kehu.identity.actions import do_run_scan
        from kehu.identity.models import DuplicateScan

        planted = plant_lookalikes(max(3, customers // 250), seed)
        self.stdout.write(f"Registering {len(planted)} customers again at store tills, then looking for duplicates…")
        do_run_scan(DuplicateScan.objects.create())

    def _score_history(self) -> None:
        """Score the demo twice a quarter apart and today, so the analytics pages, grade history
        and early warnings have something to show on the first login."""
        from django.utils import timezone

        from kehu.scoring.actions import do_run_scoring
        from kehu.scoring.models import ScoringRun

        today = timezone.localdate()
        for days_ago in (180, 90, 0):
            cutoff = today - dt.timedelta(days=days_ago)
            self.stdout.write(f"Scoring customers as of {cutoff}…")
            run = do_run_scoring(ScoringRun.objects.create(cutoff=cutoff))
            if run.message and run.status != "succeeded":
                self.stderr.write(run.message)
