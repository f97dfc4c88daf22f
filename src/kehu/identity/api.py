"""Identity endpoints: duplicate suggestions, merge, unmerge. A token needs customers:read (to
list) or customers:write (to merge and unmerge), and its user's role the merge capability."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from django.http import HttpRequest
from ninja import Field, P, QueryEx, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ConfigDict

from kehu.accounts import policy
from kehu.accounts.tokens import CUSTOMERS_READ, CUSTOMERS_WRITE
from kehu.api.auth import require
from kehu.api.present import local
from kehu.api.schemas import ErrorOut
from kehu.identity.actions import check_merge, check_unmerge
from kehu.identity.merging import MergeRefused
from kehu.identity.models import SuggestionStatus
from kehu.identity.presenters import reason_text
from kehu.identity.queries import visible_suggestions

if TYPE_CHECKING:
    from kehu.accounts.models import User
    from kehu.identity.models import MergeRecord

router = Router(tags=["identity"])

ERRORS: dict[int, type] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
Side = Literal["survivor", "absorbed"]


class ReasonOut(Schema):
    code: str
    text: str


class SuggestionOut(Schema):
    id: int
    customer_a_id: int
    customer_b_id: int
    customer_a_name: str
    customer_b_name: str
    score: int = Field(description="0-100; 100 means the same identity in different spellings.")
    method: str
    status: str
    reasons: list[ReasonOut]
    refreshed_at: dt.datetime


class SuggestionPageOut(Schema):
    items: list[SuggestionOut]
    next_cursor: str | None


class MergeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    survivor_id: int = Field(description="The record that stays.")
    absorbed_id: int = Field(description="The record merged into it (removed; restored by an unmerge).")
    fields: dict[str, Side] = Field(
        default_factory=dict,
        description="Per profile field, which record's value survives; others follow the default rules.",
    )
    suggestion_id: int | None = None


class MergeOut(Schema):
    id: int
    survivor_id: int
    absorbed_id: int
    absorbed_name: str
    merged_at: dt.datetime
    undone_at: dt.datetime | None
    field_sources: dict[str, str]
    moved: dict[str, int] = Field(description="How many rows of each table moved to the survivor.")


def _merger(request: HttpRequest, scope: str) -> User:
    user = require(request, scope)
    policy.check(user, policy.MERGE_CUSTOMERS)
    return user


def _merge_out(record: MergeRecord) -> dict[str, Any]:
    return {
        "id": record.pk,
        "survivor_id": record.survivor_id,
        "absorbed_id": record.absorbed_id,
        "absorbed_name": record.absorbed_name,
        "merged_at": local(record.merged_at),
        "undone_at": local(record.undone_at),
        "field_sources": record.field_sources,
        "moved": {label: sum(len(pks) for pks in cols.values()) for label, cols in record.moved.items()},
    }


@router.get("/identity/suggestions", response={200: SuggestionPageOut, **ERRORS}, summary="Duplicate suggestions")
def list_suggestions(
    request: HttpRequest,
    status: QueryEx[Literal["pending", "merged", "dismissed"], P(description="Default: pending.")] = "pending",
    customer_id: int | None = None,
    cursor: QueryEx[str | None, P(max_length=40, pattern=r"^\d+:\d+$")] = None,
    limit: QueryEx[int, P(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Best first. Pass `next_cursor` back as `cursor` for the next page."""
    from django.db.models import Q

    user = _merger(request, CUSTOMERS_READ)
    qs = visible_suggestions(user).filter(status=SuggestionStatus(status))
    if customer_id is not None:
        qs = qs.filter(Q(customer_a_id=customer_id) | Q(customer_b_id=customer_id))
    if cursor:
        score, pk = (int(part) for part in cursor.split(":"))
        qs = qs.filter(Q(score__lt=score) | Q(score=score, pk__gt=pk))
    rows = list(qs.select_related("customer_a", "customer_b").order_by("-score", "pk")[: limit + 1])
    next_cursor = f"{rows[limit - 1].score}:{rows[limit - 1].pk}" if len(rows) > limit else None
    return {
        "items": [
            {
                "id": s.pk,
                "customer_a_id": s.customer_a_id,
                "customer_b_id": s.customer_b_id,
                "customer_a_name": s.customer_a.name,
                "customer_b_name": s.customer_b.name,
                "score": s.score,
                "method": s.method,
                "status": s.status,
                "reasons": [{"code": r.get("code", ""), "text": reason_text(r)} for r in s.reasons],
                "refreshed_at": local(s.refreshed_at),
            }
            for s in rows[:limit]
        ],
        "next_cursor": next_cursor,
    }


@router.post("/identity/merges", response={201: MergeOut, **ERRORS}, summary="Merge two customers")
def merge(request: HttpRequest, payload: MergeIn) -> Status[dict[str, Any]]:
    """Everything of the absorbed record moves to the survivor in one transaction; the merge is
    recorded and audited and can be undone with `POST /identity/merges/{id}/unmerge`."""
    user = _merger(request, CUSTOMERS_WRITE)
    try:
        record = check_merge(
            user,
            payload.survivor_id,
            payload.absorbed_id,
            payload.fields,
            suggestion_id=payload.suggestion_id,
            via="api",
        )
    except MergeRefused as exc:
        raise HttpError(409, str(exc)) from exc
    return Status(201, _merge_out(record))


@router.post("/identity/merges/{int:merge_id}/unmerge", response={200: MergeOut, **ERRORS}, summary="Undo a merge")
def unmerge(request: HttpRequest, merge_id: int) -> dict[str, Any]:
    """Restores both records exactly as they were before the merge, or answers 409 saying why
    that is no longer possible (e.g. a later merge into the same record must be undone first)."""
    user = _merger(request, CUSTOMERS_WRITE)
    try:
        check_unmerge(user, merge_id, via="api")
    except MergeRefused as exc:
        raise HttpError(409, str(exc)) from exc
    from kehu.identity.models import MergeRecord

    return _merge_out(MergeRecord.objects.get(pk=merge_id))
