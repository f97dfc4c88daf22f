"""Bulk fixes of the data-quality page. Each walks its check's records (scoped to the user who
asked) in primary-key batches, changes only what it can repair with certainty, audits every
batch with before/after values, and reports how many records it changed. Small fixes run at once;
large ones run as a background task with progress."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.accounts import policy
from kehu.privacy.actions import do_audit
from kehu.privacy.models import AuditAction
from kehu.quality.checks import Check, get_check, store_orders
from kehu.quality.models import CheckCount, FixRun, FixStatus

if TYPE_CHECKING:
    from kehu.accounts.models import User

logger = logging.getLogger(__name__)

BATCH = 1000
COUNT_FRESH = dt.timedelta(minutes=5)
# A background count not finished after this long (a lost task) may be asked for again.
COUNT_PATIENCE = dt.timedelta(minutes=15)
Change = tuple[int, Any, Any]  # (record id, before, after)


def background_threshold() -> int:
    """Fixes over more records than this run in the background."""
    return int(getattr(settings, "QUALITY_FIX_SYNC_LIMIT", os.environ.get("KEHU_QUALITY_FIX_SYNC_LIMIT") or 2000))


# --- the fixes: each takes one batch of records and returns the changes it made ---------------


def _renormalise_identities(batch: list[Any], normalise: Callable[[str], str]) -> list[Change]:
    from kehu.customers.models import CustomerIdentity

    changes: list[Change] = []
    for identity in batch:
        try:
            value = normalise(identity.value)
        except ValidationError:
            continue  # left for manual correction
        if value == identity.value:
            continue
        owner = (
            CustomerIdentity.objects.filter(kind=identity.kind, value=value)
            .values_list("customer_id", flat=True)
            .first()
        )
        if owner is None:
            try:
                with transaction.atomic():  # a savepoint: another process may take the value first
                    CustomerIdentity.objects.filter(pk=identity.pk).update(value=value)
            except IntegrityError:
                continue
            changes.append((identity.pk, identity.value, value))
        elif owner == identity.customer_id:
            # The customer already has the clean form: the malformed copy is redundant.
            CustomerIdentity.objects.filter(pk=identity.pk).delete()
            changes.append((identity.pk, identity.value, None))
        # Another customer holds the clean number: a duplicate for the review queue, not ours to move.
    return changes


def fix_phones(user: User, batch: list[Any]) -> list[Change]:
    from kehu.customers.normalise import normalise_phone

    return _renormalise_identities(batch, normalise_phone)


def fix_emails(user: User, batch: list[Any]) -> list[Change]:
    from kehu.customers.normalise import normalise_email

    return _renormalise_identities(batch, normalise_email)


def fix_home_store(user: User, batch: list[Any]) -> list[Change]:
    from kehu.customers.models import Customer

    latest = store_orders(user).filter(customer=OuterRef("pk")).order_by("-ordered_at", "-pk").values("store_id")[:1]
    ids = [c.pk for c in batch]
    Customer.objects.filter(pk__in=ids, home_store__isnull=True).update(home_store_id=Subquery(latest))
    after = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "home_store_id"))
    return [(pk, None, after[pk]) for pk in ids if after.get(pk) is not None]


def fix_stats(user: User, batch: list[Any]) -> list[Change]:
    from kehu.customers.actions import do_refresh_purchase_stats

    def figures(c: Any) -> list[Any]:
        return [c.order_count, str(c.total_spent), c.first_order_at, c.last_order_at]

    do_refresh_purchase_stats([c.pk for c in batch])
    return [(c.pk, figures(c), [c.real_order_count, str(c.real_total_spent), c.real_first, c.real_last]) for c in batch]


def fix_province(user: User, batch: list[Any]) -> list[Change]:
    from kehu.customers.models import Address
    from kehu.quality.divisions import CITY_PROVINCE

    changes: list[Change] = []
    for address in batch:
        province = CITY_PROVINCE.get(address.city.removesuffix("市"))
        if province and province != address.province:
            Address.objects.filter(pk=address.pk).update(province=province)
            changes.append((address.pk, address.province, province))
    return changes


FIXES: dict[str, tuple[str, Callable[[User, list[Any]], list[Change]]]] = {
    # check key: (audited object type, fix)
    "invalid_phone": ("identity", fix_phones),
    "invalid_email": ("identity", fix_emails),
    "no_home_store": ("customer", fix_home_store),
    "stats_drift": ("customer", fix_stats),
    "city_outside_province": ("address", fix_province),
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# --- running -----------------------------------------------------------------------------------


def check_start_fix(user: User, check_key: str) -> FixRun:
    """Start a bulk fix: only editors (store managers within their stores), only for checks that
    have a fix. Runs at once when small, else queues a background task."""
    check = get_check(check_key)
    policy.check(user, policy.EDIT_CUSTOMERS)
    if not check.fixable or check.key not in FIXES:
        raise ValidationError(_("This problem has no automatic fix; correct the records one by one."), code="no_fix")
    candidates = check.count(user)
    run = FixRun.objects.create(check_key=check.key, candidates=candidates, created_by=user)
    if candidates <= background_threshold():
        return do_run_fix(run)
    from kehu.quality.tasks import run_fix_task

    transaction.on_commit(lambda: run_fix_task.enqueue(run.pk))
    return run


def do_run_fix(run: FixRun) -> FixRun:
    """Apply a fix batch by batch (each batch in its own transaction, audited), so a large fix
    shows progress and an interruption keeps what was done; re-running finds only what is left."""
    check: Check = get_check(run.check_key)
    object_type, fix = FIXES[check.key]
    user = run.created_by
    run.status = FixStatus.RUNNING
    run.save(update_fields=["status"])
    last_pk = 0
    try:
        policy.check(user, policy.EDIT_CUSTOMERS)
        while True:
            qs: QuerySet[Any] = check.records(user).filter(pk__gt=last_pk).order_by("pk")
            batch = list(qs[:BATCH])
            if not batch:
                break
            last_pk = batch[-1].pk
            with transaction.atomic():
                changes = fix(user, batch)
                if changes:
                    do_audit(
                        user,
                        AuditAction.UPDATE,
                        object_type,
                        f"quality:{check.key}",
                        before={"fix_run": run.pk, "records": [[pk, _jsonable(b)] for pk, b, _a in changes]},
                        after={"fix_run": run.pk, "records": [[pk, _jsonable(a)] for pk, _b, a in changes]},
                        via="quality",
                    )
            run.processed += len(batch)
            run.changed += len(changes)
            FixRun.objects.filter(pk=run.pk).update(processed=run.processed, changed=run.changed)
    except Exception as exc:
        logger.exception("quality fix %s failed", run.pk)
        run.status = FixStatus.FAILED
        run.message = str(
            _("You may no longer change customers.")
            if isinstance(exc, PermissionDenied)
            else _("The fix stopped with an error; the server log has the details.")
        )
    else:
        run.status = FixStatus.SUCCEEDED
    run.finished_at = timezone.now()
    run.save()
    forget_counts(user)
    return run


# --- counts --------------------------------------------------------------------------------------


def do_count_check(user: User, check: Check) -> CheckCount:
    """Count one check in the user's scope now and keep the result for everyone in that scope."""
    from kehu.quality.queries import scope_key

    started = time.perf_counter()
    count = check.count(user)
    seconds = time.perf_counter() - started
    row, _created = CheckCount.objects.update_or_create(
        scope=scope_key(user),
        check_key=check.key,
        defaults={"count": count, "seconds": seconds, "counted_at": timezone.now()},
    )
    return row


def check_count(user: User, check: Check, *, refresh: bool = False) -> CheckCount:
    """The check's count for the user's scope: the kept one if under five minutes old (unless
    `refresh`), else counted now — or, for heavy checks, by a background task, in which case the
    returned row is `pending` (with the previous count, if any) until the task has run."""
    from kehu.quality.queries import scope_key
    from kehu.quality.tasks import count_check_task

    policy.check(user, policy.VIEW_CUSTOMERS)
    row, _created = CheckCount.objects.get_or_create(scope=scope_key(user), check_key=check.key)
    now = timezone.now()
    if not refresh and row.counted_at and row.counted_at > now - COUNT_FRESH:
        return row
    if not check.heavy:
        return do_count_check(user, check)
    if row.pending and row.requested_at and row.requested_at > now - COUNT_PATIENCE:
        return row
    CheckCount.objects.filter(pk=row.pk).update(requested_at=now)
    count_check_task.enqueue(user.pk, check.key)
    row.refresh_from_db()
    return row


def forget_counts(user: User) -> None:
    """Drop the kept counts of the user's scope (after a fix) and of the whole company."""
    from kehu.quality.queries import scope_key

    CheckCount.objects.filter(scope__in={scope_key(user), "all"}).delete()
