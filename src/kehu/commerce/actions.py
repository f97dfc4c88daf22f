"""State changes on orders: idempotent ingestion keyed on (source system, source id), with the
buyer resolved to one customer record by phone, email or member card."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from kehu.commerce.models import Channel, Order, OrderLine, OrderStatus, Product, Store
from kehu.customers.models import Customer, CustomerIdentity, IdentityKind
from kehu.customers.normalise import normalise_email, normalise_name, normalise_phone
from kehu.privacy.actions import do_audit
from kehu.privacy.models import AuditAction

if TYPE_CHECKING:
    from kehu.accounts.models import User

CENT = Decimal("0.01")


@dataclass
class LineInput:
    sku: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    name: str = ""


@dataclass
class OrderInput:
    source_system: str
    source_id: str
    number: str
    channel: Channel
    store: Store | None
    status: str
    ordered_at: dt.datetime
    total_amount: Decimal
    discount_amount: Decimal
    paid_amount: Decimal
    refunded_amount: Decimal
    customer_name: str
    phone: str | None = None
    email: str | None = None
    member_card: str | None = None
    customer_id: int | None = None
    lines: list[LineInput] = field(default_factory=list)
    # Validated changes to the order's custom field values (kehu.customfields); None: unchanged.
    custom: dict[str, Any] | None = None


@dataclass
class IngestResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    order_ids: list[int | None] = field(default_factory=list)


# The money columns hold 14 digits, 2 after the point.
MAX_AMOUNT = Decimal("999999999999.99")
# Longest accepted text per field, as the columns define them.
MAX_LENGTHS = {"source_system": 40, "source_id": 100, "number": 100, "sku": 64, "name": 200, "identity": 200}


def _money(value: object, field_name: str, errors: dict[str, list[str]]) -> Decimal:
    try:
        amount = Decimal(str(value if value not in (None, "") else "0")).quantize(CENT)
    except (InvalidOperation, ValueError):
        errors.setdefault(field_name, []).append(_("Enter an amount."))
        return Decimal(0)
    if not amount.is_finite() or amount > MAX_AMOUNT:
        errors.setdefault(field_name, []).append(_("The amount is too large."))
        return Decimal(0)
    if amount < 0:
        errors.setdefault(field_name, []).append(_("An amount cannot be negative."))
    return amount


def _text(value: object, field_name: str, limit: int, errors: dict[str, list[str]]) -> str:
    text = str(value or "").strip()
    if len(text) > limit:
        errors.setdefault(field_name, []).append(_("At most %(limit)d characters.") % {"limit": limit})
    return text


def check_order_input(data: dict[str, Any], channels: dict[str, Channel], stores: dict[str, Store]) -> OrderInput:
    """Validate one order as sent by a web shop, marketplace or POS. Raises ValidationError."""
    errors: dict[str, list[str]] = {}
    source_system = _text(data.get("source_system"), "source_system", MAX_LENGTHS["source_system"], errors)
    source_id = _text(data.get("source_id"), "source_id", MAX_LENGTHS["source_id"], errors)
    number = _text(data.get("number"), "number", MAX_LENGTHS["number"], errors)
    if not source_system:
        errors.setdefault("source_system", []).append(_("Required."))
    if not source_id:
        errors.setdefault("source_id", []).append(_("Required."))
    channel = channels.get(str(data.get("channel") or ""))
    if channel is None:
        errors.setdefault("channel", []).append(_("Unknown channel."))
    store = None
    if data.get("store"):
        store = stores.get(str(data["store"]))
        if store is None:
            errors.setdefault("store", []).append(_("Unknown store."))
    status = data.get("status") or OrderStatus.PAID
    if status not in OrderStatus.values:
        errors.setdefault("status", []).append(_("Unknown status."))
    ordered_at = data.get("ordered_at")
    if isinstance(ordered_at, str):
        ordered_at = parse_datetime(ordered_at)
    if not isinstance(ordered_at, dt.datetime):
        errors.setdefault("ordered_at", []).append(_("Enter a date and time."))
        ordered_at = timezone.now()
    elif timezone.is_naive(ordered_at):
        ordered_at = timezone.make_aware(ordered_at)
    total = _money(data.get("total_amount"), "total_amount", errors)
    discount = _money(data.get("discount_amount"), "discount_amount", errors)
    paid = _money(data.get("paid_amount", total), "paid_amount", errors)
    refunded = _money(data.get("refunded_amount"), "refunded_amount", errors)
    if refunded > paid and "paid_amount" not in errors:
        errors.setdefault("refunded_amount", []).append(_("Refunded more than was paid."))
    customer = data.get("customer") or {}
    phone = email = None
    if customer.get("phone"):
        try:
            phone = normalise_phone(str(customer["phone"]))
        except ValidationError as exc:
            errors.setdefault("customer.phone", []).extend(exc.messages)
    if customer.get("email"):
        try:
            email = normalise_email(str(customer["email"]))
        except ValidationError as exc:
            errors.setdefault("customer.email", []).extend(exc.messages)
    card = _text(customer.get("member_card"), "customer.member_card", MAX_LENGTHS["identity"], errors) or None
    customer_name = _text(customer.get("name"), "customer.name", MAX_LENGTHS["name"], errors)
    customer_id = customer.get("id")
    if (
        not (phone or email or card or customer_id)
        and not errors.get("customer.phone")
        and not errors.get("customer.email")
    ):
        errors.setdefault("customer", []).append(_("Give the buyer's phone, email, member card or customer id."))
    lines: list[LineInput] = []
    # Positions in error keys count from 0, like the batch index and JSON arrays.
    for i, line in enumerate(data.get("lines") or []):
        qty = line.get("quantity", 1)
        if not isinstance(qty, int) or isinstance(qty, bool) or not 0 < qty <= 1_000_000:
            errors.setdefault(f"lines.{i}.quantity", []).append(_("Enter a positive whole number."))
            qty = 1
        unit = _money(line.get("unit_price"), f"lines.{i}.unit_price", errors)
        amount = _money(line.get("amount", unit * qty), f"lines.{i}.amount", errors)
        sku = _text(line.get("sku"), f"lines.{i}.sku", MAX_LENGTHS["sku"], errors)
        if not sku:
            errors.setdefault(f"lines.{i}.sku", []).append(_("Required."))
        name = _text(line.get("name"), f"lines.{i}.name", MAX_LENGTHS["name"], errors)
        lines.append(LineInput(sku=sku, quantity=qty, unit_price=unit, amount=amount, name=name))
    custom = None
    if data.get("custom") is not None:
        from kehu.customfields.values import clean_patch

        try:
            custom = clean_patch("order", data["custom"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    assert channel is not None
    return OrderInput(
        source_system=source_system,
        source_id=source_id,
        number=number or source_id,
        channel=channel,
        store=store,
        status=status,
        ordered_at=ordered_at,
        total_amount=total,
        discount_amount=discount,
        paid_amount=paid,
        refunded_amount=refunded,
        customer_name=normalise_name(customer_name) or _("Unnamed customer"),
        phone=phone,
        email=email,
        member_card=card,
        customer_id=int(customer_id) if customer_id else None,
        lines=lines,
        custom=custom,
    )


def resolve_customer(data: OrderInput, actor: User | None, *, via: str) -> Customer:
    """The one customer record behind an order: found by customer id, phone, email or member card
    (in that order), otherwise created with those identities."""
    if data.customer_id:
        found = Customer.objects.filter(pk=data.customer_id).first()
        if found is not None:
            return found
    keys = [
        (IdentityKind.PHONE, data.phone),
        (IdentityKind.EMAIL, data.email),
        (IdentityKind.MEMBER_CARD, data.member_card),
    ]
    for kind, value in keys:
        if value:
            identity = CustomerIdentity.objects.filter(kind=kind, value=value).select_related("customer").first()
            if identity is not None:
                return identity.customer
    from kehu.customers.actions import CustomerInput, do_create_customer

    return do_create_customer(
        actor,
        CustomerInput(
            name=data.customer_name,
            phones=[data.phone] if data.phone else [],
            emails=[data.email] if data.email else [],
            member_cards=[data.member_card] if data.member_card else [],
            preferred_channel_id=data.channel.pk,
            home_store_id=data.store.pk if data.store else None,
        ),
        via=via,
    )


ORDER_FIELDS = (
    "number",
    "status",
    "ordered_at",
    "total_amount",
    "discount_amount",
    "paid_amount",
    "refunded_amount",
)


def _order_state(order: Order, lines: list[tuple[str, int, Decimal, Decimal]]) -> dict[str, Any]:
    state = {f: getattr(order, f) for f in ORDER_FIELDS}
    state["channel_id"] = order.channel_id
    state["store_id"] = order.store_id
    state["custom"] = dict(order.custom or {})
    state["lines"] = lines
    return state


def _jsonable(state: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if not isinstance(v, int | dict | type(None)) else v) for k, v in state.items() if k != "lines"}


@transaction.atomic
def do_ingest_order(data: OrderInput, actor: User | None, *, via: str = "api") -> tuple[str, Order]:
    """Create or update one order; returns ("created" | "updated" | "unchanged", order).
    Re-sending the same order changes nothing."""
    from kehu.customers.actions import do_refresh_purchase_stats
    from kehu.customfields.values import apply_patch

    incoming_lines = [(ln.sku, ln.quantity, ln.unit_price, ln.amount) for ln in data.lines]
    existing = (
        Order.objects.select_for_update().filter(source_system=data.source_system, source_id=data.source_id).first()
    )
    if existing is not None:
        current_lines = list(existing.lines.order_by("line_no").values_list("sku", "quantity", "unit_price", "amount"))
        before = _order_state(existing, [tuple(x) for x in current_lines])  # type: ignore[misc]
        for f in ORDER_FIELDS:
            setattr(existing, f, getattr(data, f))
        existing.channel = data.channel
        existing.store = data.store
        if data.custom is not None:
            existing.custom = apply_patch(existing.custom, data.custom)
        after = _order_state(existing, incoming_lines)
        if before == after:
            return "unchanged", existing
        existing.save()
        if before["lines"] != after["lines"]:
            existing.lines.all().delete()
            _create_lines(existing, data)
        do_refresh_purchase_stats([existing.customer_id])
        do_audit(
            actor, AuditAction.UPDATE, "order", existing.pk, before=_jsonable(before), after=_jsonable(after), via=via
        )
        return "updated", existing

    customer = resolve_customer(data, actor, via=via)
    order = Order.objects.create(
        source_system=data.source_system,
        source_id=data.source_id,
        customer=customer,
        channel=data.channel,
        store=data.store,
        custom=apply_patch({}, data.custom or {}),
        **{f: getattr(data, f) for f in ORDER_FIELDS},
    )
    _create_lines(order, data)
    do_refresh_purchase_stats([customer.pk])
    return "created", order


def _create_lines(order: Order, data: OrderInput) -> None:
    products = Product.objects.in_bulk([ln.sku for ln in data.lines], field_name="sku")
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                line_no=i,
                product=products.get(ln.sku),
                sku=ln.sku,
                name=ln.name or (products[ln.sku].name if ln.sku in products else ""),
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                amount=ln.amount,
            )
            for i, ln in enumerate(data.lines, start=1)
        ]
    )


def ingest_orders(batch: list[dict[str, Any]], actor: User | None, *, via: str = "api") -> IngestResult:
    """Validate and ingest a batch; each order succeeds or fails on its own, errors name the
    order's position and field."""
    channels = {c.code: c for c in Channel.objects.all()}
    stores = {s.code: s for s in Store.objects.all()}
    result = IngestResult()
    for index, raw in enumerate(batch):
        try:
            clean = check_order_input(raw, channels, stores)
        except ValidationError as exc:
            result.errors.append({"index": index, "source_id": raw.get("source_id"), "errors": exc.message_dict})
            result.order_ids.append(None)
            continue
        try:
            outcome, order = do_ingest_order(clean, actor, via=via)
        except IntegrityError:
            # A concurrent request created the same order (or the same buyer's identity) between
            # our read and our insert; everything of this attempt rolled back, so run it again,
            # which now finds the existing rows.
            outcome, order = do_ingest_order(clean, actor, via=via)
        setattr(result, outcome, getattr(result, outcome) + 1)
        result.order_ids.append(order.pk)
    return result
