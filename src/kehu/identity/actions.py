"""State changes of identity resolution: duplicate scans and the suggestions they store,
dismissing suggestions, and permission-checked merge and unmerge.

`check_*` validates (permission, scope, input) and calls `do_*`; `do_*` trusts its input."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.accounts import policy
from kehu.customers.models import Customer
from kehu.identity import matching, survivorship
from kehu.identity.merging import MergeRefused, do_merge, do_unmerge
from kehu.identity.models import (
    DuplicateScan,
    DuplicateSuggestion,
    MatchMethod,
    MergeRecord,
    ScanStatus,
    SuggestionStatus,
)
from kehu.privacy.actions import do_audit
from kehu.privacy.models import AuditAction

if TYPE_CHECKING:
    from kehu.accounts.models import User

logger = logging.getLogger(__name__)

__all__ = [
    "MergeRefused",
    "check_dismiss",
    "check_merge",
    "check_unmerge",
    "do_request_scan",
    "do_run_scan",
    "do_store_suggestions",
]


# --- suggestions ----------------------------------------------------------------------------


def do_store_suggestions(candidates: Iterable[matching.Candidate], *, at: Any = None) -> int:
    """Insert new suggestions and refresh the score and reasons of known pairs; a pair is stored
    once (unique on the ordered pair) and a dismissed or merged pair keeps its status. Other
    apps (imports) may call this with pairs they found."""
    at = at or timezone.now()
    rows = [
        DuplicateSuggestion(
            customer_a_id=c.a,
            customer_b_id=c.b,
            score=c.score,
            method=c.method,
            reasons=c.reasons,
            refreshed_at=at,
        )
        for c in candidates
        if c.a != c.b
    ]
    for row in rows:
        if row.customer_a_id > row.customer_b_id:
            row.customer_a_id, row.customer_b_id = row.customer_b_id, row.customer_a_id
    DuplicateSuggestion.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["customer_a", "customer_b"],
        update_fields=["score", "method", "reasons", "refreshed_at"],
    )
    return len(rows)


def do_request_scan(actor: User | None) -> DuplicateScan:
    """Queue a scan; the task starts once this transaction commits. A scan already queued or
    running is returned instead of starting another."""
    from kehu.identity.tasks import run_duplicate_scan

    pending = DuplicateScan.objects.filter(status__in=[ScanStatus.QUEUED, ScanStatus.RUNNING]).first()
    if pending is not None:
        return pending
    scan = DuplicateScan.objects.create(triggered_by=actor)
    do_audit(actor, AuditAction.CREATE, "duplicate_scan", scan.pk)
    transaction.on_commit(lambda: run_duplicate_scan.enqueue(scan.pk))
    return scan


def _progress(scan: DuplicateScan, stage: str, percent: int) -> None:
    DuplicateScan.objects.filter(pk=scan.pk).update(stage=stage, progress=percent)


def do_run_scan(scan: DuplicateScan) -> DuplicateScan:
    """Run a scan to the end: deterministic evidence, then probabilistic; store the suggestions;
    drop pending probabilistic suggestions the data no longer supports."""
    started = timezone.now()
    DuplicateScan.objects.filter(pk=scan.pk).update(
        status=ScanStatus.RUNNING, started_at=started, progress=1, stage="identities"
    )
    try:
        exact = matching.identity_candidates()
        result = matching.probabilistic_candidates(lambda stage, percent: _progress(scan, stage, percent))
        _progress(scan, "saving", 95)
        candidates = matching.combine(exact, result.candidates)
        with transaction.atomic():
            stored = do_store_suggestions(candidates, at=started)
            DuplicateSuggestion.objects.filter(
                status=SuggestionStatus.PENDING, method=MatchMethod.PROBABILISTIC, refreshed_at__lt=started
            ).delete()
    except Exception as exc:
        logger.exception("duplicate scan %s failed", scan.pk)
        DuplicateScan.objects.filter(pk=scan.pk).update(
            status=ScanStatus.FAILED, message=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    DuplicateScan.objects.filter(pk=scan.pk).update(
        status=ScanStatus.SUCCEEDED,
        progress=100,
        stage="done",
        customers_scanned=Customer.objects.count(),
        pairs_compared=result.pairs_compared,
        suggestions_found=stored,
        finished_at=timezone.now(),
    )
    scan.refresh_from_db()
    return scan


def check_dismiss(actor: User, suggestion_ids: Iterable[int]) -> int:
    """Dismiss pending suggestions the user may see; returns how many were dismissed."""
    from kehu.identity.queries import visible_suggestions

    policy.check(actor, policy.MERGE_CUSTOMERS)
    ids = [int(i) for i in suggestion_ids]
    with transaction.atomic():
        chosen = list(
            visible_suggestions(actor).filter(pk__in=ids, status=SuggestionStatus.PENDING).values_list("pk", flat=True)
        )
        DuplicateSuggestion.objects.filter(pk__in=chosen).update(
            status=SuggestionStatus.DISMISSED, decided_by=actor, decided_at=timezone.now()
        )
        for pk in chosen:
            do_audit(actor, AuditAction.UPDATE, "duplicate_suggestion", pk, after={"status": "dismissed"})
    return len(chosen)


# --- merge ----------------------------------------------------------------------------------


def _merged_away(customer_id: int) -> MergeRecord | None:
    return MergeRecord.objects.filter(absorbed_id=customer_id, undone_at__isnull=True).first()


def access_pair(actor: User, survivor_id: int, absorbed_id: int) -> tuple[Customer, Customer]:
    """Both customers, if the user may merge and see them. Raises PermissionDenied, Http404,
    ValidationError (the same record twice) or MergeRefused (a record already merged away)."""
    from kehu.customers.queries import access_customer

    policy.check(actor, policy.MERGE_CUSTOMERS)
    if survivor_id == absorbed_id:
        raise ValidationError({"absorbed_id": [_("A customer cannot be merged with itself.")]})
    for customer_id in (survivor_id, absorbed_id):
        earlier = _merged_away(customer_id)
        if earlier is not None and not Customer.objects.filter(pk=customer_id).exists():
            raise MergeRefused(
                _("Customer #%(id)s was already merged into #%(into)s.")
                % {"id": customer_id, "into": earlier.survivor_id}
            )
    return access_customer(actor, survivor_id), access_customer(actor, absorbed_id)


def check_field_sources(data: dict[str, Any] | None) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    for field, side in (data or {}).items():
        if field not in survivorship.FIELD_RULES:
            errors.setdefault("fields", []).append(_("Unknown field: %(field)s.") % {"field": field})
        elif side not in (survivorship.SURVIVOR, survivorship.ABSORBED):
            errors.setdefault("fields", []).append(
                _("Choose “survivor” or “absorbed” for %(field)s.") % {"field": field}
            )
        else:
            clean[field] = side
    if errors:
        raise ValidationError(errors)
    return clean


def check_merge(
    actor: User,
    survivor_id: int,
    absorbed_id: int,
    field_sources: dict[str, Any] | None = None,
    *,
    suggestion_id: int | None = None,
    via: str = "web",
) -> MergeRecord:
    """Merge `absorbed_id` into `survivor_id` for this user, and mark the pair's suggestion
    merged. Every refusal leaves the data as it was."""
    survivor, absorbed = access_pair(actor, survivor_id, absorbed_id)
    sources = check_field_sources(field_sources)
    with transaction.atomic():
        record = do_merge(actor, survivor, absorbed, sources, via=via)
        low, high = sorted((survivor.pk, absorbed.pk))
        suggestions = DuplicateSuggestion.objects.filter(customer_a_id=low, customer_b_id=high)
        if suggestion_id is not None:
            suggestions = suggestions | DuplicateSuggestion.objects.filter(
                pk=suggestion_id, customer_a_id=low, customer_b_id=high
            )
        suggestions.exclude(status=SuggestionStatus.MERGED).update(
            status=SuggestionStatus.MERGED, decided_by=actor, decided_at=timezone.now(), merge=record
        )
    return record


def access_merge(actor: User, merge_id: int) -> MergeRecord:
    """A merge record whose surviving customer the user may see (404 otherwise)."""
    from django.http import Http404

    from kehu.customers.queries import visible_customers

    policy.check(actor, policy.MERGE_CUSTOMERS)
    record = MergeRecord.objects.filter(pk=merge_id).first()
    if record is None:
        raise Http404(_("No such merge."))
    if policy.is_store_scoped(actor):
        # Scoped users reach merges of records they can see now (either side, whichever exists).
        scope = visible_customers(actor)
        if not scope.filter(pk__in=[record.survivor_id, record.absorbed_id]).exists():
            raise Http404(_("No such merge."))
    return record


def check_unmerge(actor: User, merge_id: int, *, via: str = "web") -> Customer:
    record = access_merge(actor, merge_id)
    return do_unmerge(actor, record, via=via)
