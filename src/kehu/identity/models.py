"""Duplicate suggestions (pending / merged / dismissed), the scans that find them, and merge
records holding everything needed to undo a merge exactly.

The customer columns here are foreign keys without a database constraint: a merge deletes the
absorbed customer and an unmerge recreates it with the same id, and the suggestions and merge
records must outlive both (they are the history). The generic merge machinery skips this app's
models."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class ScanStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class DuplicateScan(models.Model):
    """One run of the duplicate finder (deterministic evidence, then probabilistic)."""

    status = models.CharField(_("status"), max_length=10, choices=ScanStatus.choices, default=ScanStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    stage = models.CharField(_("stage"), max_length=100, blank=True)
    message = models.TextField(_("message"), blank=True)
    customers_scanned = models.IntegerField(_("customers scanned"), default=0)
    pairs_compared = models.BigIntegerField(_("pairs compared"), default=0)
    suggestions_found = models.IntegerField(_("suggestions found"), default=0)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("duplicate scan")
        verbose_name_plural = _("duplicate scans")


class SuggestionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Dismissed")


class MatchMethod(models.TextChoices):
    DETERMINISTIC = "deterministic", _("Same identity")
    PROBABILISTIC = "probabilistic", _("Similar profile")


def _customer_ref(name: str) -> models.ForeignKey:  # type: ignore[type-arg]
    return models.ForeignKey(
        "customers.Customer",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=name,
    )


class DuplicateSuggestion(models.Model):
    """Two customer records that may be one person. The pair is stored ordered (lower id first)
    under a unique constraint, so a pair is suggested once however often scans run."""

    customer_a = _customer_ref(_("first customer"))
    customer_b = _customer_ref(_("second customer"))
    score = models.PositiveSmallIntegerField(_("score"))
    method = models.CharField(_("method"), max_length=15, choices=MatchMethod.choices)
    # [{"code": "birthday_same"}, {"code": "name_similar", "percent": 82}, ...]; shown by presenters.
    reasons = models.JSONField(_("reasons"), default=list)
    status = models.CharField(
        _("status"), max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    refreshed_at = models.DateTimeField(_("last found"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    merge = models.ForeignKey(
        "identity.MergeRecord", null=True, blank=True, on_delete=models.SET_NULL, related_name="suggestions"
    )

    class Meta:
        ordering = ["-score", "id"]
        verbose_name = _("duplicate suggestion")
        verbose_name_plural = _("duplicate suggestions")
        constraints = [
            models.UniqueConstraint(fields=["customer_a", "customer_b"], name="duplicate_pair_unique"),
            models.CheckConstraint(condition=Q(customer_a__lt=F("customer_b")), name="duplicate_pair_ordered"),
            models.CheckConstraint(condition=Q(score__lte=100), name="duplicate_score_max_100"),
        ]
        indexes = [
            models.Index(fields=["status", "-score", "id"], name="duplicate_queue"),
            models.Index(fields=["customer_b", "status"], name="duplicate_customer_b"),
        ]

    def other(self, customer_id: int) -> int:
        return self.customer_b_id if customer_id == self.customer_a_id else self.customer_a_id


class MergeRecord(models.Model):
    """One merge of `absorbed_id` into `survivor`: enough to put every row back (see
    `kehu.identity.actions.do_unmerge`). Never deleted; an unmerge sets `undone_at`."""

    survivor = _customer_ref(_("surviving customer"))
    absorbed_id = models.BigIntegerField(_("absorbed customer id"), db_index=True)
    absorbed_name = models.CharField(_("absorbed customer"), max_length=200)
    # Full rows (attname → JSON value) of both customers before, and of the survivor after.
    absorbed_row = models.JSONField()
    survivor_before = models.JSONField()
    survivor_after = models.JSONField()
    # {"app_label.model": {"field_attname": [pk, ...]}}: rows re-pointed from absorbed to survivor.
    moved = models.JSONField(default=dict)
    # {"app_label.model": [row, ...]}: rows removed to make the merge possible (conflicting
    # consents, duplicate tag links, the absorbed record's scores), restored by an unmerge.
    removed = models.JSONField(default=dict)
    # {"field": "survivor" | "absorbed"}: where each differing profile field's value came from.
    field_sources = models.JSONField(default=dict)
    interaction_id = models.BigIntegerField(null=True, blank=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(_("merged"), auto_now_add=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    via = models.CharField(max_length=10, default="web")

    class Meta:
        ordering = ["-merged_at", "-id"]
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        indexes = [models.Index(fields=["survivor", "-merged_at"], name="merge_survivor")]

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None
