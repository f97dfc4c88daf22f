"""Where and what customers buy: channels, regions, stores, products, orders, returns, shipments."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0.00")


def money(verbose_name: str, **kwargs: object) -> models.DecimalField:  # type: ignore[type-arg]
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, default=ZERO, **kwargs)  # type: ignore[arg-type]


class ChannelKind(models.TextChoices):
    WEB = "web", _("Web shop")
    APP = "app", _("App")
    MINI_PROGRAM = "mini_program", _("Mini-program")
    STORE = "store", _("Store POS")
    CALL_CENTRE = "call_centre", _("Call centre")
    MARKETPLACE = "marketplace", _("Marketplace")


class Channel(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=ChannelKind.choices)

    class Meta:
        ordering = ["id"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self) -> str:
        return self.name


class Region(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="stores", verbose_name=_("region"))
    province = models.CharField(_("province"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    opened_on = models.DateField(_("opened on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("store")
        verbose_name_plural = _("stores")

    def __str__(self) -> str:
        return self.name


class ProductCategory(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        ordering = ["id"]
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(ProductCategory, on_delete=models.PROTECT, related_name="products")
    price = money(_("price"))
    cost = money(_("cost"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sku"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0) & Q(cost__gte=0), name="product_money_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Pending payment")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")


# Orders in these statuses count as purchases in customer totals and analytics.
PURCHASE_STATUSES = (
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.COMPLETED,
    OrderStatus.PARTIALLY_REFUNDED,
)


class Order(models.Model):
    """An order from any channel. (source_system, source_id) makes every ingest idempotent."""

    source_system = models.CharField(_("source system"), max_length=40)
    source_id = models.CharField(_("source id"), max_length=100)
    # One index on the number (Meta.indexes), in pattern order: it serves the exact lookups
    # (customer search) and the prefix filter of the order list alike, so a second, plain index
    # would only slow down every insert.
    number = models.CharField(_("order number"), max_length=100)
    # Indexes: (customer, -ordered_at) and (store, -ordered_at) below serve these foreign keys, and
    # orders are never looked up by channel alone, so the default single-column indexes would only
    # slow down every insert.
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("customer"),
        db_index=False,
    )
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, related_name="orders", verbose_name=_("channel"), db_index=False
    )
    store = models.ForeignKey(
        Store,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("store"),
        db_index=False,
    )
    salesperson = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sales_orders",
        verbose_name=_("salesperson"),
        db_index=False,
    )
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.PAID)
    ordered_at = models.DateTimeField(_("ordered at"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    total_amount = money(_("total"))
    discount_amount = money(_("discount"))
    paid_amount = money(_("paid"))
    refunded_amount = money(_("refunded"))
    # Values of admin-defined custom fields (kehu.customfields); bulk inserts rely on the DB default.
    custom = models.JSONField(
        _("custom fields"), default=dict, blank=True, db_default=models.Value({}, output_field=models.JSONField())
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["source_system", "source_id"], name="order_source_unique"),
            models.CheckConstraint(
                condition=Q(total_amount__gte=0) & Q(paid_amount__gte=0) & Q(refunded_amount__gte=0),
                name="order_money_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("paid_amount")), name="order_refund_le_paid"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-ordered_at"], name="order_customer_time"),
            # Partial: most orders come from online channels, without a store or a salesperson,
            # and no query looks those up through these indexes; each full index cost every
            # imported order an index entry (docs/decisions/0201-import-pipeline.md, revision 3).
            models.Index(fields=["store", "-ordered_at"], name="order_store_time", condition=Q(store__isnull=False)),
            models.Index(
                fields=["salesperson", "-ordered_at"],
                name="order_salesperson_time",
                condition=Q(salesperson__isnull=False),
            ),
            models.Index(fields=["-ordered_at"], name="order_time"),
            models.Index(fields=["number"], name="order_number", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def net_amount(self) -> Decimal:
        return self.paid_amount - self.refunded_amount


class OrderLine(models.Model):
    # The unique (order, line_no) index serves lookups by order.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_no = models.PositiveIntegerField(_("line"))
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="order_lines")
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("product name"), max_length=200, blank=True)
    quantity = models.IntegerField(_("quantity"), default=1)
    unit_price = money(_("unit price"))
    amount = money(_("amount"))

    class Meta:
        ordering = ["order", "line_no"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="order_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
        ]


class ReturnKind(models.TextChoices):
    RETURN = "return", _("Return")
    EXCHANGE = "exchange", _("Exchange")


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    RECEIVED = "received", _("Received")
    REFUNDED = "refunded", _("Refunded")
    EXCHANGED = "exchanged", _("Exchanged")
    REJECTED = "rejected", _("Rejected")


class Return(models.Model):
    source_system = models.CharField(_("source system"), max_length=40)
    source_id = models.CharField(_("source id"), max_length=100)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="returns")
    kind = models.CharField(_("kind"), max_length=10, choices=ReturnKind.choices, default=ReturnKind.RETURN)
    status = models.CharField(_("status"), max_length=12, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    amount = money(_("amount"))
    requested_at = models.DateTimeField(_("requested at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("return or exchange")
        verbose_name_plural = _("returns and exchanges")
        constraints = [models.UniqueConstraint(fields=["source_system", "source_id"], name="return_source_unique")]
        indexes = [models.Index(fields=["customer", "-requested_at"], name="return_customer_time")]


class ShipmentStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting shipment")
    IN_TRANSIT = "in_transit", _("In transit")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    EXCEPTION = "exception", _("Exception")


class Shipment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    carrier = models.CharField(_("carrier"), max_length=50)
    tracking_number = models.CharField(_("tracking number"), max_length=64)
    status = models.CharField(
        _("status"), max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.PENDING
    )
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    promised_by = models.DateTimeField(_("promised by"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        constraints = [models.UniqueConstraint(fields=["carrier", "tracking_number"], name="shipment_tracking_unique")]

    @property
    def is_late(self) -> bool:
        if self.promised_by is None:
            return False
        if self.delivered_at is not None:
            return self.delivered_at > self.promised_by
        from django.utils import timezone

        return timezone.now() > self.promised_by


class ShipmentEvent(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time"))
    status = models.CharField(_("status"), max_length=20, choices=ShipmentStatus.choices)
    location = models.CharField(_("location"), max_length=100, blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        ordering = ["shipment", "at"]
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
