"""Periodic jobs: each entry enqueues a background task on a cron schedule. Run exactly one
scheduler per installation (`kehu serve` starts it); the tasks themselves run on the workers."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    cron: str  # minute hour day month day-of-week, in the business time zone
    enqueue: Callable[[], object]


def _quarterly_scoring() -> object:
    from kehu.scoring.actions import do_request_scoring

    return do_request_scoring(None)


def _reconcile_purchase_figures() -> object:
    from kehu.customers.actions import (
        do_index_unsearchable_names,
        do_refresh_purchase_stats,
        do_repair_search_rank,
        purchase_stats_drift,
        search_rank_drift,
    )

    drift = purchase_stats_drift()
    if drift:
        logger.warning("repairing purchase figures of %s customers", drift)
        do_refresh_purchase_stats()
    tokens = search_rank_drift()
    if tokens:
        logger.warning("repairing the name search's spend copy on %s tokens", tokens)
        do_repair_search_rank()
    unindexed = do_index_unsearchable_names()
    if unindexed:
        logger.warning("indexed the names of %s customers that had no search tokens", unindexed)
    return drift


def _purge_expired_exports() -> object:
    from kehu.exports.actions import do_purge_expired_exports

    return do_purge_expired_exports()


def _purge_old_uploads() -> object:
    from kehu.imports.uploads import do_purge_old_uploads

    return do_purge_old_uploads()


def periodic_jobs() -> list[PeriodicJob]:
    """The schedule; each cron expression can be changed with an environment variable."""
    return [
        # 季度清理: rescore everyone at 02:00 on the first day of each quarter.
        PeriodicJob("scoring", os.environ.get("KEHU_SCORING_CRON", "0 2 1 1,4,7,10 *"), _quarterly_scoring),
        PeriodicJob("reconcile", os.environ.get("KEHU_RECONCILE_CRON", "30 3 * * *"), _reconcile_purchase_figures),
        PeriodicJob("purge-exports", os.environ.get("KEHU_PURGE_EXPORTS_CRON", "15 * * * *"), _purge_expired_exports),
        PeriodicJob("purge-uploads", os.environ.get("KEHU_PURGE_UPLOADS_CRON", "45 4 * * *"), _purge_old_uploads),
    ]


def run_scheduler() -> None:
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from django.conf import settings

    scheduler = BlockingScheduler(timezone=settings.TIME_ZONE)
    for job in periodic_jobs():
        scheduler.add_job(
            job.enqueue,
            CronTrigger.from_crontab(job.cron, timezone=settings.TIME_ZONE),
            id=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )
        logger.info("scheduled %s at '%s'", job.name, job.cron)
    scheduler.start()
