"""One customer record across every channel: profile, identities, addresses, households, tags,
notes, and the interaction timeline the 360 page reads as one stream."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CustomerKind(models.TextChoices):
    CONSUMER = "consumer", _("Consumer")
    LEAD = "lead", _("Lead (never bought)")
    PARTNER_CUSTOMER = "partner_customer", _("Partner's customer")
    DISTRIBUTOR = "distributor", _("Distributor")
    B2B = "b2b", _("B2B account")


class PartyType(models.TextChoices):
    PERSON = "person", _("Person")
    ORGANISATION = "organisation", _("Organisation")


class Gender(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    OTHER = "O", _("Other")


class Household(models.Model):
    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=20, default="blue")

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """A real customer, person or organisation. Purchase figures are kept up to date by
    `kehu.customers.actions.do_refresh_purchase_stats` so lists can sort and filter on them."""

    kind = models.CharField(_("kind"), max_length=20, choices=CustomerKind.choices, default=CustomerKind.CONSUMER)
    party_type = models.CharField(_("party type"), max_length=15, choices=PartyType.choices, default=PartyType.PERSON)
    name = models.CharField(_("name"), max_length=200)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, default=Gender.UNKNOWN, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    household = models.ForeignKey(
        Household,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        verbose_name=_("household"),
        db_index=False,  # partial index in Meta: most customers have no household
    )
    home_store = models.ForeignKey(
        "commerce.Store",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="home_customers",
        verbose_name=_("home store"),
        db_index=False,  # served by customer_home_store (home_store, -id)
    )
    preferred_channel = models.ForeignKey(
        "commerce.Channel",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("preferred channel"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers", verbose_name=_("tags"))
    source_system = models.CharField(_("source system"), max_length=40, blank=True)
    source_id = models.CharField(_("source id"), max_length=100, blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    # Purchase figures (derived from orders; refreshed by actions, reconciled by a job).
    order_count = models.IntegerField(_("orders"), default=0)
    total_spent = models.DecimalField(_("total spent"), max_digits=14, decimal_places=2, default=Decimal("0.00"))
    first_order_at = models.DateTimeField(_("first purchase"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "source_id"],
                condition=~Q(source_id=""),
                name="customer_source_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["-total_spent", "-id"], name="customer_spent"),
            # Name search ranks thousands of candidates of a common name by spend: probing this
            # covering index reads no table rows (docs/benchmarks.md, search and the 360 page).
            models.Index(fields=["id", "total_spent"], name="customer_id_spent"),
            models.Index(fields=["-last_order_at", "-id"], name="customer_last_order"),
            models.Index(fields=["-created_at", "-id"], name="customer_created"),
            models.Index(fields=["home_store", "-id"], name="customer_home_store"),
            models.Index(fields=["kind", "-id"], name="customer_kind"),
            models.Index(fields=["household"], name="customer_household", condition=Q(household__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def average_order_value(self) -> Decimal | None:
        if not self.order_count:
            return None
        return (self.total_spent / self.order_count).quantize(Decimal("0.01"))


class IdentityKind(models.TextChoices):
    PHONE = "phone", _("Mobile phone")
    EMAIL = "email", _("Email")
    MEMBER_CARD = "member_card", _("Member card")
    WECHAT_OPENID = "wechat_openid", _("WeChat openid")
    WECHAT_UNIONID = "wechat_unionid", _("WeChat unionid")
    POS_ID = "pos_id", _("Store POS customer id")


# Identities whose values are personal data and are masked for roles that may not see them.
PERSONAL_IDENTITY_KINDS = frozenset({IdentityKind.PHONE, IdentityKind.EMAIL})


class CustomerIdentity(models.Model):
    """A way the company knows a customer. `value` is normalised (E.164 phone, lower-case email),
    and unique per kind: one phone number belongs to one customer record."""

    # The (customer, kind) index serves lookups by customer.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities", db_index=False)
    kind = models.CharField(_("kind"), max_length=20, choices=IdentityKind.choices)
    value = models.CharField(_("value"), max_length=200)
    is_primary = models.BooleanField(_("primary"), default=False)
    verified = models.BooleanField(_("verified"), default=False)
    source_system = models.CharField(_("source system"), max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-is_primary", "id"]
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="identity_kind_value_unique")]
        indexes = [models.Index(fields=["customer", "kind"], name="identity_customer_kind")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Address(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(_("label"), max_length=50, blank=True)
    recipient = models.CharField(_("recipient"), max_length=100, blank=True)
    province = models.CharField(_("province"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    detail = models.CharField(_("street address"), max_length=300, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        ordering = ["-is_default", "id"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self) -> str:
        return f"{self.province}{self.city}{self.district}{self.detail}"


class Note(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(_("note"), max_length=5000)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")


class InteractionKind(models.TextChoices):
    """Kinds of timeline entries. Later apps add their own kinds (the column is free text)."""

    ORDER = "order", _("Order")
    RETURN = "return", _("Return or exchange")
    SHIPMENT = "shipment", _("Shipment")
    TICKET = "ticket", _("Ticket")
    CALL = "call", _("Call")
    MESSAGE = "message", _("Message")
    NOTE = "note", _("Note")
    REGISTRATION = "registration", _("Registration")
    MERGE = "merge", _("Merge of duplicate records")


class Interaction(models.Model):
    """One entry of the customer's timeline. Written by the action that records the event, so
    the 360 page reads a single indexed stream instead of a union over every app."""

    # The timeline index (customer, -occurred_at, -id) serves lookups by customer.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions", db_index=False)
    kind = models.CharField(_("kind"), max_length=20)
    occurred_at = models.DateTimeField(_("time"))
    channel = models.ForeignKey(
        "commerce.Channel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    title = models.CharField(_("title"), max_length=200)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    ref_type = models.CharField(max_length=40, blank=True)
    ref_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [models.Index(fields=["customer", "-occurred_at", "-id"], name="interaction_timeline")]


class SearchToken(models.Model):
    """Name search index: NFKC-normalised n-grams of each customer's name (see ADR 0002).
    The same table and query serve SQLite and PostgreSQL."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    token = models.CharField(max_length=64)
    # A copy of the customer's total_spent, so that the customers holding a common token come off
    # `search_token_rank` in spend order (the top 20 of 8,000 namesakes without visiting them all).
    # Database triggers keep it (migration 0004, ADR 0005): whatever a writer puts here is replaced
    # by the customer's figure on insert, and every change of that figure is copied.
    spent = models.DecimalField(max_digits=14, decimal_places=2, db_default=Decimal("0.00"), editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "customer"], name="search_token_unique")]
        indexes = [
            models.Index(fields=["customer"], name="search_token_customer"),
            models.Index(fields=["token", "-spent", "-customer"], name="search_token_rank"),
        ]
