"""Figures entered in bulk through the grid: monthly store sales per product model, monthly
sales targets per salesperson, and the per-cell history of every change to them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# Money in the grid: at most 12 digits before the point, two after (same as commerce.money).
AMOUNT_DIGITS = 14
AMOUNT_PLACES = 2


class StoreMonthlySales(models.Model):
    """One store's sales of one product model in one month. `month` is the first day of the
    month. A blank figure is NULL (not entered), which is different from 0 (nothing sold)."""

    month = models.DateField(_("month"))
    store = models.ForeignKey(
        "commerce.Store", on_delete=models.PROTECT, related_name="monthly_sales", verbose_name=_("store")
    )
    product = models.ForeignKey(
        "commerce.Product",
        on_delete=models.PROTECT,
        related_name="monthly_store_sales",
        verbose_name=_("product"),
        db_index=False,
    )
    quantity = models.IntegerField(_("quantity"), null=True, blank=True)
    amount = models.DecimalField(
        _("amount"), max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, null=True, blank=True
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("entered by"),
    )
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("monthly store sales")
        verbose_name_plural = _("monthly store sales")
        constraints = [
            models.UniqueConstraint(fields=["month", "store", "product"], name="store_sales_unique"),
            models.CheckConstraint(
                condition=(Q(quantity__isnull=True) | Q(quantity__gte=0)) & (Q(amount__isnull=True) | Q(amount__gte=0)),
                name="store_sales_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["product", "month"], name="store_sales_product_month")]


class SalesTarget(models.Model):
    """What one salesperson is expected to sell in one month (CNY)."""

    month = models.DateField(_("month"))
    salesperson = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sales_targets", verbose_name=_("salesperson")
    )
    amount = models.DecimalField(_("target"), max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("entered by"),
    )
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        constraints = [
            models.UniqueConstraint(fields=["month", "salesperson"], name="sales_target_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="sales_target_not_negative"),
        ]


class Sheet(models.TextChoices):
    STORE_SALES = "store_sales", _("Store sales")
    TARGETS = "targets", _("Targets")


class FigureChange(models.Model):
    """History of the grid: one row per changed cell per save (append-only by convention; only
    `do_save_*` writes it). `row_id` is the store or salesperson, `column_id` the product (store
    sales) or empty (targets); `field` is quantity/amount/target."""

    saved_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sheet = models.CharField(_("sheet"), max_length=12, choices=Sheet.choices)
    month = models.DateField(_("month"))
    row_id = models.BigIntegerField()
    column_id = models.BigIntegerField(null=True, blank=True)
    field = models.CharField(_("field"), max_length=10)
    before = models.CharField(_("before"), max_length=32, blank=True)
    after = models.CharField(_("after"), max_length=32, blank=True)

    class Meta:
        ordering = ["-saved_at", "-id"]
        verbose_name = _("figure change")
        verbose_name_plural = _("figure changes")
        indexes = [models.Index(fields=["sheet", "month", "row_id"], name="figure_change_cell")]
