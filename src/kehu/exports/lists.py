"""The built-in exportable lists: customers (with the customer list's filters and sort) and orders.
Both reuse their app's role-scoped queries, so an export holds exactly what the page would show."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from django.db.models import F, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from kehu.accounts import policy
from kehu.exports.registry import Column, ExportList, register

if TYPE_CHECKING:
    from kehu.accounts.models import User
    from kehu.commerce.models import Order
    from kehu.customers.models import Customer


# --- customers -------------------------------------------------------------------------------


def customer_queryset(user: User, params: QueryDict) -> QuerySet[Customer]:
    """The customer list page's rows, all pages at once: the same filter form, the same
    role-scoped query and the same order (`kehu.customers.queries`)."""
    from kehu.customers.forms import CustomerFilterForm
    from kehu.customers.queries import SORTS, visible_customers

    form = CustomerFilterForm(user, params or None)
    field_name, _direction = SORTS[form.chosen_sort()]
    qs = form.as_filters().apply(visible_customers(user))
    # As on the page: only the nullable last purchase needs NULLS LAST (others use their index).
    order: list[Any] = [
        F(field_name).desc(nulls_last=True) if field_name == "last_order_at" else f"-{field_name}",
        "-pk",
    ]
    return qs.order_by(*order)


def customer_filters(user: User, params: QueryDict) -> dict[str, Any]:
    from kehu.customers.forms import CustomerFilterForm

    form = CustomerFilterForm(user, params or None)
    filters = form.as_filters()
    applied: dict[str, Any] = {
        name: str(value)
        for name, value in vars(filters).items()
        if value is not None and value is not False and value != "" and not isinstance(value, (list, tuple, dict))
    }
    # Custom-field filters are recorded as the parameters that expressed them (`cf_<key>…`).
    custom = {key: params.getlist(key)[:20] for key in list(params)[:50] if key.startswith("cf_")}
    if custom:
        applied["custom"] = custom
    return {**applied, "sort": form.chosen_sort()}


CUSTOMER_FIELDS = (
    "pk",
    "name",
    "kind",
    "home_store__name",
    "order_count",
    "total_spent",
    "first_order_at",
    "last_order_at",
    "created_at",
)


class _Identity(NamedTuple):
    kind: str
    value: str


def customer_fetch(queryset: QuerySet[Customer]) -> QuerySet[Any]:
    return queryset.values_list(*CUSTOMER_FIELDS, "custom")


def customer_custom_headers() -> list[str]:
    """The active custom fields of customers, in their settings order (kehu.customfields)."""
    from kehu.customfields.queries import active_fields

    return [str(d.label) for d in active_fields("customer")]


def customer_rows(batch: list[tuple[Any, ...]], unmasked: bool) -> list[list[Any]]:
    """Rows of a batch of customers: one query for the batch's phones and emails (the first of
    each kind, as on the page), shown through the same presenter as the page."""
    from kehu.customers.models import CustomerIdentity, CustomerKind
    from kehu.customers.presenters import identity_display

    ids = [record[0] for record in batch]
    contacts: dict[tuple[int, str], str] = {}
    identities = (
        CustomerIdentity.objects.filter(customer_id__in=ids, kind__in=("phone", "email"))
        .order_by("customer_id", "kind", "-is_primary", "pk")
        .values_list("customer_id", "kind", "value")
    )
    for customer_id, kind, value in identities:
        contacts.setdefault((customer_id, kind), identity_display(_Identity(kind, value), unmasked=unmasked))  # type: ignore[arg-type]
    from kehu.customfields.forms import display_rows
    from kehu.customfields.queries import active_fields

    definitions = active_fields("customer")
    kinds = dict(CustomerKind.choices)
    return [
        [
            pk,
            name,
            kinds.get(kind, kind),
            contacts.get((pk, "phone"), ""),
            contacts.get((pk, "email"), ""),
            store or "",
            order_count,
            total_spent,
            first_order_at,
            last_order_at,
            created_at,
            # Custom fields as shown on the page: personal ones masked unless unmasked.
            *(cell["value"] for cell in display_rows(definitions, custom or {}, unmasked=unmasked)),
        ]
        for pk, name, kind, store, order_count, total_spent, first_order_at, last_order_at, created_at, custom in batch
    ]


CUSTOMERS = register(
    ExportList(
        key="customers",
        title=_("Customers"),
        capability=policy.VIEW_CUSTOMERS,
        columns=(
            Column("id", _("Customer ID")),
            Column("name", _("Name")),
            Column("kind", _("Kind")),
            Column("phone", _("Phone")),
            Column("email", _("Email")),
            Column("home_store", _("Home store")),
            Column("order_count", _("Orders")),
            Column("total_spent", _("Total spent (CNY)")),
            Column("first_order_at", _("First purchase")),
            Column("last_order_at", _("Last purchase")),
            Column("created_at", _("Created")),
        ),
        queryset=customer_queryset,
        fetch=customer_fetch,
        rows_of=customer_rows,
        describe_filters=customer_filters,
        page_url_name="customer-list",
        extra_headers=customer_custom_headers,
    )
)


# --- orders ----------------------------------------------------------------------------------


def order_queryset(user: User, params: QueryDict) -> QuerySet[Order]:
    """The order list page's rows, all pages at once: the same filters, scope and order."""
    from kehu.commerce.forms import OrderFilterForm
    from kehu.commerce.queries import ordered_orders

    return ordered_orders(user, OrderFilterForm(user, params or None).as_filters())


def order_filters(user: User, params: QueryDict) -> dict[str, Any]:
    from kehu.commerce.forms import OrderFilterForm

    return {k: str(v) for k, v in OrderFilterForm(user, params or None).cleaned().items()}


ORDER_FIELDS = (
    "number",
    "ordered_at",
    "status",
    "channel__name",
    "store__name",
    "customer_id",
    "customer__name",
    "total_amount",
    "discount_amount",
    "paid_amount",
    "refunded_amount",
)


def order_fetch(queryset: QuerySet[Order]) -> QuerySet[Any]:
    return queryset.values_list(*ORDER_FIELDS)


def order_rows(batch: list[tuple[Any, ...]], unmasked: bool) -> list[list[Any]]:
    from kehu.commerce.models import OrderStatus

    statuses = dict(OrderStatus.choices)
    return [[*row[:2], statuses.get(row[2], row[2]), row[3], row[4] or "", *row[5:]] for row in batch]


ORDERS = register(
    ExportList(
        key="orders",
        title=_("Orders"),
        capability=policy.VIEW_ORDERS,
        columns=(
            Column("number", _("Order number")),
            Column("ordered_at", _("Ordered at")),
            Column("status", _("Status")),
            Column("channel", _("Channel")),
            Column("store", _("Store")),
            Column("customer_id", _("Customer ID")),
            Column("customer", _("Customer")),
            Column("total_amount", _("Total (CNY)")),
            Column("discount_amount", _("Discount (CNY)")),
            Column("paid_amount", _("Paid (CNY)")),
            Column("refunded_amount", _("Refunded (CNY)")),
        ),
        queryset=order_queryset,
        fetch=order_fetch,
        rows_of=order_rows,
        describe_filters=order_filters,
        has_personal_data=False,
    )
)
