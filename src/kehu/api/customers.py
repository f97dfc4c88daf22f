"""Customer endpoints: list, search, read, 360, create, change, add identity, add note."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from ninja import P, QueryEx, Router, Status
from ninja.errors import HttpError

from kehu.accounts.tokens import CUSTOMERS_READ, CUSTOMERS_WRITE, ORDERS_READ
from kehu.api.auth import require
from kehu.api.errors import message_dict
from kehu.api.present import customer_360 as present_360
from kehu.api.present import customer_detail, local, row
from kehu.api.schemas import (
    Customer360Out,
    CustomerCreateIn,
    CustomerOut,
    CustomerPageOut,
    CustomerUpdateIn,
    ErrorOut,
    IdentityIn,
    IdentityOut,
    NoteIn,
    NoteOut,
    SearchOut,
)
from kehu.customers.actions import check_add_identity, check_create_customer, check_update_customer, do_add_note
from kehu.customers.presenters import identity_display, may_unmask
from kehu.customers.queries import (
    SORTS,
    CustomerFilters,
    access_customer,
    customer_360,
    decode_cursor,
    list_customers,
    search_customers,
)
from kehu.privacy.actions import do_audit
from kehu.privacy.models import AuditAction

if TYPE_CHECKING:
    from kehu.accounts.models import User
    from kehu.customers.models import Customer

router = Router(tags=["customers"])

READ_ERRORS: dict[int, type] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, type] = {**READ_ERRORS, 409: ErrorOut}
UNMASK_HELP = "Show phone, email and address in full (roles allowed to unmask only; audited)."


def _unmasked(user: User, unmask: bool) -> bool:
    if unmask and not may_unmask(user):
        raise HttpError(403, "Your role may not unmask personal data.")
    return unmask


def _audit_unmask(request: HttpRequest, user: User, customers: list[Customer]) -> None:
    # One entry per customer, so each customer's audit trail shows who saw their data in full.
    for customer in customers:
        do_audit(user, AuditAction.UNMASK, "customer", customer.pk, request=request, via="api")


@router.get("/customers", response={200: CustomerPageOut, **READ_ERRORS}, summary="List customers")
def list_customers_endpoint(
    request: HttpRequest,
    kind: str = "",
    store_id: int | None = None,
    tag_id: int | None = None,
    min_spent: Decimal | None = None,
    has_ordered: bool | None = None,
    sort: QueryEx[str, P(description=f"One of: {', '.join(SORTS)}.")] = "recent",
    cursor: QueryEx[str | None, P(max_length=500)] = None,
    limit: QueryEx[int, P(ge=1, le=200)] = 50,
    unmask: QueryEx[bool, P(description=UNMASK_HELP)] = False,
) -> dict[str, Any]:
    """Keyset-paginated: pass `next_cursor` back as `cursor`; page 10,000 costs what page 1 does."""
    user = require(request, CUSTOMERS_READ)
    unmasked = _unmasked(user, unmask)
    errors: dict[str, list[str]] = {}
    if sort not in SORTS:
        errors["sort"] = [f"Unknown sort; use one of: {', '.join(SORTS)}."]
    if cursor and decode_cursor(cursor) is None:
        errors["cursor"] = ["Invalid cursor; pass back a next_cursor exactly as received."]
    if errors:
        raise ValidationError(errors)
    filters = CustomerFilters(kind=kind, store_id=store_id, tag_id=tag_id, min_spent=min_spent, has_ordered=has_ordered)
    page = list_customers(user, filters, sort=sort, cursor=cursor, page_size=limit)
    prefetch_related_objects(page.customers, "identities")
    if unmasked:
        _audit_unmask(request, user, page.customers)
    return {
        "items": [row(c, unmasked=unmasked) for c in page.customers],
        "next_cursor": page.next_cursor,
        "sort": page.sort,
    }


@router.get("/customers/search", response={200: SearchOut, **READ_ERRORS}, summary="Find customers")
def search_customers_endpoint(
    request: HttpRequest,
    q: QueryEx[str, P(min_length=1, max_length=100)],
    limit: QueryEx[int, P(ge=1, le=50)] = 20,
    unmask: QueryEx[bool, P(description=UNMASK_HELP)] = False,
) -> dict[str, Any]:
    """By phone (any common form), email, member card, WeChat or POS id, order number, or part of the name."""
    user = require(request, CUSTOMERS_READ)
    unmasked = _unmasked(user, unmask)
    hits = search_customers(user, q, limit=limit)
    customers = [hit.customer for hit in hits]
    prefetch_related_objects(customers, "identities")
    if unmasked:
        _audit_unmask(request, user, customers)
    return {"items": [{**row(hit.customer, unmasked=unmasked), "matched_on": hit.matched_on} for hit in hits]}


@router.get("/customers/{int:customer_id}", response={200: CustomerOut, **READ_ERRORS}, summary="Read a customer")
def get_customer(
    request: HttpRequest, customer_id: int, unmask: QueryEx[bool, P(description=UNMASK_HELP)] = False
) -> dict[str, Any]:
    user = require(request, CUSTOMERS_READ)
    unmasked = _unmasked(user, unmask)
    customer = access_customer(user, customer_id)
    prefetch_related_objects([customer], "identities", "tags")
    if unmasked:
        _audit_unmask(request, user, [customer])
    return customer_detail(customer, unmasked=unmasked)


@router.get("/customers/{int:customer_id}/360", response={200: Customer360Out, **READ_ERRORS}, summary="Customer 360")
def get_customer_360(
    request: HttpRequest, customer_id: int, unmask: QueryEx[bool, P(description=UNMASK_HELP)] = False
) -> dict[str, Any]:
    """Profile, identities, addresses, consents, headline numbers, recent orders and timeline.
    Needs the customers:read and orders:read scopes; every read is audited."""
    require(request, ORDERS_READ)
    user = require(request, CUSTOMERS_READ)
    unmasked = _unmasked(user, unmask)
    customer = access_customer(user, customer_id)
    # Prefetched here so the 360's own reads of identities and tags hit the cache.
    prefetch_related_objects([customer], "identities", "tags")
    view = customer_360(user, customer)
    do_audit(user, AuditAction.VIEW, "customer", customer.pk, request=request, via="api")
    if unmasked:
        _audit_unmask(request, user, [customer])
    return present_360(view, unmasked=unmasked)


@router.post("/customers", response={201: CustomerOut, **WRITE_ERRORS}, summary="Create a customer")
def create_customer(request: HttpRequest, payload: CustomerCreateIn) -> Status[dict[str, Any]]:
    user = require(request, CUSTOMERS_WRITE)
    data: dict[str, Any] = payload.model_dump(exclude={"phone", "email", "member_card"})
    # The singular fields are a convenience for one value; the domain reads the lists.
    for single, plural in (("phone", "phones"), ("email", "emails"), ("member_card", "member_cards")):
        value = getattr(payload, single)
        if value:
            data[plural] = [value, *data[plural]]
    customer = check_create_customer(user, data, via="api")
    prefetch_related_objects([customer], "identities", "tags")
    return Status(201, customer_detail(customer, unmasked=False))


@router.patch("/customers/{int:customer_id}", response={200: CustomerOut, **WRITE_ERRORS}, summary="Change a customer")
def update_customer(request: HttpRequest, customer_id: int, payload: CustomerUpdateIn) -> dict[str, Any]:
    """Only the fields sent are changed; the change is audited with before and after values."""
    user = require(request, CUSTOMERS_WRITE)
    customer = access_customer(user, customer_id)
    data = payload.model_dump(exclude_unset=True)
    customer = check_update_customer(user, customer, data, via="api")
    prefetch_related_objects([customer], "identities", "tags")
    return customer_detail(customer, unmasked=False)


@router.post(
    "/customers/{int:customer_id}/identities",
    response={201: IdentityOut, **WRITE_ERRORS},
    summary="Add a phone, email, member card, WeChat or POS id",
)
def add_identity(request: HttpRequest, customer_id: int, payload: IdentityIn) -> Status[dict[str, Any]]:
    user = require(request, CUSTOMERS_WRITE)
    customer = access_customer(user, customer_id)
    try:
        identity = check_add_identity(user, customer, payload.kind, payload.value, via="api")
    except ValidationError as exc:
        raise ValidationError(message_dict(exc, default_field="value")) from exc
    return Status(
        201,
        {
            "id": identity.pk,
            "kind": identity.kind,
            "value": identity_display(identity, unmasked=False),
            "is_primary": identity.is_primary,
            "verified": identity.verified,
        },
    )


@router.post("/customers/{int:customer_id}/notes", response={201: NoteOut, **WRITE_ERRORS}, summary="Add a note")
def add_note(request: HttpRequest, customer_id: int, payload: NoteIn) -> Status[dict[str, Any]]:
    user = require(request, CUSTOMERS_WRITE)
    customer = access_customer(user, customer_id)
    note = do_add_note(user, customer, payload.body, via="api")
    return Status(
        201, {"id": note.pk, "author": user.get_username(), "body": note.body, "created_at": local(note.created_at)}
    )
