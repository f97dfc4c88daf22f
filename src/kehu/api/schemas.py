"""Request and response shapes of the REST API, published in /api/openapi.json. Money is a string
(exact decimal), times are ISO 8601 with their offset; request bodies refuse unknown fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import ConfigDict, field_validator

# Exact amounts: a JSON string ("299.00") or number (parsed as Decimal, never float); cents at most.
MoneyIn = Annotated[Decimal, Field(max_digits=14, decimal_places=2, examples=["299.00"])]
# Identity values are stored in 200-character columns; longer input is refused before it reaches the DB.
IdentityValue = Annotated[str, Field(max_length=200)]


class StrictIn(Schema):
    """A request body: unknown or protected fields (`order_count`, `is_staff`, `id`…) are refused with
    422 rather than silently dropped, so a client learns at once that they were not applied."""

    model_config = ConfigDict(extra="forbid")


def CustomFieldsOut(entity: str) -> Any:
    """The `custom` object of a record; /api/openapi.json lists its fields as defined right now
    (`kehu.customfields.openapi` fills in the schema marked with `x-custom-fields`)."""
    return Field(
        default_factory=dict,
        description="Custom field values by key (personal ones masked unless unmasked).",
        json_schema_extra={"x-custom-fields": entity},
    )


def CustomFieldsIn(entity: str) -> Any:
    return Field(
        None,
        description='Custom field values by key; only the keys sent change, null or "" clears one.',
        json_schema_extra={"x-custom-fields": entity},
    )


# --- errors ---------------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = Field(
        default_factory=dict, description="Messages per field; nested fields are dotted: `customer.phone`."
    )


# --- who am I -------------------------------------------------------------------------------


class MeOut(Schema):
    username: str
    role: str
    capabilities: list[str]
    scopes: list[str] | None = Field(description="The token's scopes; null when calling with a browser session.")


# --- customers ------------------------------------------------------------------------------


class IdentityOut(Schema):
    id: int
    kind: str
    value: str = Field(description="Masked (`138****8000`) unless unmasking was asked for and allowed.")
    is_primary: bool
    verified: bool


class CustomerRowOut(Schema):
    id: int
    name: str
    kind: str
    phone: str
    email: str
    home_store: str
    order_count: int
    total_spent: str
    last_order_at: dt.datetime | None
    created_at: dt.datetime


class CustomerPageOut(Schema):
    items: list[CustomerRowOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    sort: str


class SearchHitOut(CustomerRowOut):
    matched_on: str


class SearchOut(Schema):
    items: list[SearchHitOut]


class CustomerOut(CustomerRowOut):
    party_type: str
    gender: str
    birthday: dt.date | None
    home_store_id: int | None
    preferred_channel_id: int | None
    first_order_at: dt.datetime | None
    average_order_value: str | None
    updated_at: dt.datetime
    identities: list[IdentityOut]
    tags: list[str]
    custom: dict[str, Any] = CustomFieldsOut("customer")


class CustomerCreateIn(StrictIn):
    name: str
    kind: str = ""
    party_type: str = ""
    gender: str = ""
    birthday: dt.date | None = None
    home_store_id: int | None = None
    preferred_channel_id: int | None = None
    phone: str | None = Field(None, max_length=50)
    email: IdentityValue | None = None
    member_card: IdentityValue | None = None
    phones: list[Annotated[str, Field(max_length=50)]] = Field(default_factory=list, max_length=10)
    emails: list[IdentityValue] = Field(default_factory=list, max_length=10)
    member_cards: list[IdentityValue] = Field(default_factory=list, max_length=10)
    custom: dict[str, Any] | None = CustomFieldsIn("customer")


class CustomerUpdateIn(StrictIn):
    """Only the fields sent are changed."""

    name: str | None = None
    kind: str | None = None
    party_type: str | None = None
    gender: str | None = None
    birthday: dt.date | None = None
    home_store_id: int | None = None
    preferred_channel_id: int | None = None
    custom: dict[str, Any] | None = CustomFieldsIn("customer")


class IdentityIn(StrictIn):
    kind: str = Field(max_length=20, examples=["phone", "email", "member_card", "wechat_openid", "pos_id"])
    value: IdentityValue


class NoteIn(StrictIn):
    body: str = Field(min_length=1, max_length=5000)

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Enter a note.")
        return value


class NoteOut(Schema):
    id: int
    author: str
    body: str
    created_at: dt.datetime


class AddressOut(Schema):
    id: int
    label: str
    recipient: str
    province: str
    city: str
    district: str
    detail: str
    postal_code: str
    is_default: bool


class ConsentOut(Schema):
    channel: str
    purpose: str
    status: str
    source: str
    notice_version: str
    updated_at: dt.datetime


class ChannelUsedOut(Schema):
    channel: str | None
    kind: str | None
    orders: int
    spent: str


class CategoryOut(Schema):
    name: str | None
    name_en: str | None
    quantity: int
    spent: str


class HeadlineOut(Schema):
    total_spent: str
    order_count: int
    average_order_value: str | None
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    returns_count: int
    channels_used: list[ChannelUsedOut]
    favourite_categories: list[CategoryOut]


class TimelineEntryOut(Schema):
    kind: str
    occurred_at: dt.datetime
    channel: str | None
    title: str
    detail: str
    ref_type: str
    ref_id: int | None


# --- orders ---------------------------------------------------------------------------------


class OrderSummaryOut(Schema):
    id: int
    number: str
    source_system: str
    source_id: str
    customer_id: int
    channel: str
    channel_name: str
    store: str | None
    store_name: str | None
    status: str
    ordered_at: dt.datetime
    currency: str
    total_amount: str
    discount_amount: str
    paid_amount: str
    refunded_amount: str
    custom: dict[str, Any] = CustomFieldsOut("order")


class OrderLineOut(Schema):
    line_no: int
    sku: str
    name: str
    quantity: int
    unit_price: str
    amount: str


class OrderOut(OrderSummaryOut):
    lines: list[OrderLineOut]


class OrderPageOut(Schema):
    items: list[OrderOut]
    next_cursor: str | None


class Customer360Out(Schema):
    customer: CustomerOut
    addresses: list[AddressOut]
    consents: list[ConsentOut]
    headline: HeadlineOut
    recent_orders: list[OrderSummaryOut]
    timeline: list[TimelineEntryOut]
    notes: list[NoteOut]


class OrderCustomerIn(StrictIn):
    """The buyer: matched by id, then phone, email, member card; created with `name` if unknown."""

    id: int | None = None
    phone: str | None = Field(None, max_length=50)
    email: IdentityValue | None = None
    member_card: IdentityValue | None = None
    name: str | None = Field(None, max_length=200)


class OrderLineIn(StrictIn):
    sku: str = Field(max_length=64)
    quantity: int = 1
    unit_price: MoneyIn
    amount: MoneyIn | None = Field(None, description="Defaults to unit_price × quantity.")
    name: str = Field("", max_length=200)


class OrderIn(StrictIn):
    source_system: str = Field(max_length=40, examples=["tmall"])
    source_id: str = Field(
        max_length=100,
        description="The order's id in the source system; with "
        "source_system it identifies the order, so re-sending it updates instead of duplicating.",
    )
    number: str | None = Field(None, max_length=100, description="Defaults to source_id.")
    channel: str = Field(max_length=40, description="Channel code, e.g. `web`, `app`, `store`.")
    store: str | None = Field(None, max_length=40, description="Store code, for store orders.")
    status: str = Field("paid", max_length=20)
    ordered_at: dt.datetime = Field(description="ISO 8601; without an offset it is read as Asia/Shanghai.")
    total_amount: MoneyIn
    discount_amount: MoneyIn = Decimal("0.00")
    paid_amount: MoneyIn | None = Field(None, description="Defaults to total_amount.")
    refunded_amount: MoneyIn = Decimal("0.00")
    customer: OrderCustomerIn
    lines: list[OrderLineIn] = Field(default_factory=list, max_length=500)
    custom: dict[str, Any] | None = CustomFieldsIn("order")


MAX_BATCH = 1000


class OrderBatchIn(StrictIn):
    orders: list[OrderIn] = Field(min_length=1, max_length=MAX_BATCH)


class IngestErrorOut(Schema):
    index: int = Field(description="Position of the order in the batch, from 0.")
    source_id: str | None
    errors: dict[str, list[str]]


class IngestResultOut(Schema):
    created: int
    updated: int
    unchanged: int
    errors: list[IngestErrorOut]
    order_ids: list[int | None] = Field(description="Per position in the batch; null for a rejected order.")
