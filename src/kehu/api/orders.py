"""Order endpoints: read one, list a customer's orders, and idempotent batch ingest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, prefetch_related_objects
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import HeaderEx, P, QueryEx, Router, Status

from kehu.accounts.tokens import ORDERS_READ, ORDERS_WRITE
from kehu.api.auth import request_token, require
from kehu.api.idempotency import claim_key, record_response, release, request_fingerprint
from kehu.api.present import order_custom_fields, order_detail
from kehu.api.schemas import MAX_BATCH, ErrorOut, IngestResultOut, OrderBatchIn, OrderOut, OrderPageOut
from kehu.commerce.actions import ingest_orders
from kehu.commerce.queries import access_order, visible_orders
from kehu.customers.queries import access_customer, decode_cursor, encode_cursor

router = Router(tags=["orders"])

READ_ERRORS: dict[int, type] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


@router.get("/orders/{int:order_id}", response={200: OrderOut, **READ_ERRORS}, summary="Read an order")
def get_order(request: HttpRequest, order_id: int) -> dict[str, Any]:
    user = require(request, ORDERS_READ)
    order = access_order(user, order_id)
    prefetch_related_objects([order], "lines")
    return order_detail(order)


@router.get(
    "/customers/{int:customer_id}/orders",
    response={200: OrderPageOut, **READ_ERRORS},
    summary="List a customer's orders, newest first",
)
def list_customer_orders(
    request: HttpRequest,
    customer_id: int,
    cursor: QueryEx[str | None, P(max_length=500)] = None,
    limit: QueryEx[int, P(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Keyset-paginated on (ordered_at, id); a store manager sees only their stores' orders."""
    user = require(request, ORDERS_READ)
    after = decode_cursor(cursor) if cursor else None
    if cursor and (after is None or not isinstance(after[0], dt.datetime)):
        raise ValidationError({"cursor": ["Invalid cursor; pass back a next_cursor exactly as received."]})
    customer = access_customer(user, customer_id)
    qs = visible_orders(user).filter(customer=customer).select_related("channel", "store")
    if after is not None:
        ordered_at, pk = after
        qs = qs.filter(Q(ordered_at__lt=ordered_at) | Q(ordered_at=ordered_at, pk__lt=pk))
    orders = list(qs.order_by("-ordered_at", "-pk")[: limit + 1])
    next_cursor = None
    if len(orders) > limit:
        orders = orders[:limit]
        next_cursor = encode_cursor(orders[-1].ordered_at, orders[-1].pk)
    prefetch_related_objects(orders, "lines")
    custom_fields = order_custom_fields()
    return {"items": [order_detail(o, custom_fields) for o in orders], "next_cursor": next_cursor}


@router.post(
    "/orders/batch",
    response={
        200: IngestResultOut,
        422: IngestResultOut,
        401: ErrorOut,
        403: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
    },
    summary=f"Ingest up to {MAX_BATCH} orders, idempotently",
)
def ingest_order_batch(
    request: HttpRequest,
    payload: OrderBatchIn,
    idempotency_key: HeaderEx[
        str | None,
        P(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Replays the stored answer when the same request is sent again within 24 hours; "
            "the same key with a different request gets 409.",
        ),
    ] = None,
) -> Any:
    """Each order is created, updated or left unchanged, keyed on (source_system, source_id), so
    re-sending a batch never duplicates orders. Orders are accepted or rejected one by one: the
    answer is 200 when all were accepted, 422 when some were rejected (`errors` names each one's
    index and fields; the others were ingested, see `order_ids`). A body that does not match the
    schema is rejected as a whole with 422 and `{detail, errors}`."""
    user = require(request, ORDERS_WRITE)
    batch = [order.model_dump(exclude_none=True) for order in payload.orders]
    claim = None
    if idempotency_key is not None:
        fingerprint = request_fingerprint(request.method or "POST", request.path, batch)
        claim = claim_key(user, request_token(request), idempotency_key, fingerprint)
        if claim.replay:
            return _replay(claim.row.response_status or 200, claim.row.response_body or {})
    try:
        result = ingest_orders(batch, user, via="api")
    except BaseException:
        if claim is not None:
            release(claim)
        raise
    body = {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "errors": [
            {"index": e["index"], "source_id": e.get("source_id"), "errors": e["errors"]} for e in result.errors
        ],
        "order_ids": result.order_ids,
    }
    status = 422 if result.errors else 200
    if claim is not None:
        record_response(claim, status, body)
    return Status(status, body)


def _replay(status: int, body: dict[str, Any]) -> HttpResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    response["Idempotent-Replayed"] = "true"
    return response
