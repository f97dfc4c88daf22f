"""Scores of the CRM's own customers: scoring runs, each customer's current score, the grade
history across runs, and early warnings when grades slide."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class ScoringRun(models.Model):
    """One scoring of every customer at a cutoff date (scheduled quarterly or on demand)."""

    cutoff = models.DateField(_("cutoff"))
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    stage = models.CharField(_("stage"), max_length=100, blank=True)
    message = models.TextField(_("message"), blank=True)
    customers_scored = models.IntegerField(_("customers scored"), default=0)
    warnings_raised = models.IntegerField(_("warnings raised"), default=0)
    model_params = models.JSONField(_("model parameters"), default=dict, blank=True)
    # Company-level results of the run that the analytics pages show: cohorts, affinity rules,
    # segment preferences and the purchase forecast (see kehu.scoring.insights).
    insights = models.JSONField(_("insights"), default=dict, blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("scoring run")
        verbose_name_plural = _("scoring runs")


class Tier(models.TextChoices):
    GOLD = "gold", _("Gold")
    SILVER = "silver", _("Silver")
    BRONZE = "bronze", _("Bronze")


class CustomerScore(models.Model):
    """A customer's latest scores (one row per customer, replaced by each run)."""

    customer = models.OneToOneField(
        "customers.Customer", primary_key=True, on_delete=models.CASCADE, related_name="score"
    )
    # Rewritten for every customer by each run, so every index and database-checked key costs a
    # million operations per run: the run is always created before its scores (no constraint
    # needed; the ORM still cascades a deleted run), and only the columns lists filter by are
    # indexed, with plain btrees (no LIKE pattern indexes).
    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    recency_days = models.IntegerField(_("days since last purchase"), null=True)
    frequency = models.IntegerField(_("purchases in period"), default=0)
    monetary = models.DecimalField(_("spend in period"), max_digits=14, decimal_places=2, default=0)
    r_grade = models.CharField(_("R grade"), max_length=2, blank=True)
    f_grade = models.CharField(_("F grade"), max_length=2, blank=True)
    m_grade = models.CharField(_("M grade"), max_length=2, blank=True)
    rfm_class = models.CharField(_("RFM class"), max_length=6, blank=True)
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices, blank=True)
    segment = models.CharField(_("segment"), max_length=40, blank=True)
    lifecycle_stage = models.CharField(_("lifecycle stage"), max_length=20, blank=True)
    p_alive = models.FloatField(_("probability alive"), null=True)
    expected_purchases_90d = models.FloatField(_("expected purchases, 90 days"), null=True)
    expected_purchases_365d = models.FloatField(_("expected purchases, 365 days"), null=True)
    clv_365d = models.DecimalField(_("CLV, 365 days"), max_digits=14, decimal_places=2, null=True)
    churn_probability = models.FloatField(_("churn probability"), null=True)
    churn_reasons = models.JSONField(_("churn reasons"), default=list, blank=True)
    scored_at = models.DateTimeField(_("scored at"))

    class Meta:
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        indexes = [
            models.Index(fields=["tier"], name="score_tier"),
            models.Index(fields=["rfm_class"], name="score_rfm_class"),
            models.Index(fields=["lifecycle_stage"], name="score_lifecycle_stage"),
            models.Index(fields=["churn_probability"], name="score_churn_probability"),
        ]


class GradeSnapshot(models.Model):
    """A customer's grades in one run: the grade history the early warning compares."""

    # As for scores: a million rows per run. (run, customer) is unique and (customer, cutoff)
    # indexed, which serve both keys; the run exists before its snapshots. Neither key is checked
    # by the database row by row (a million key look-ups and row locks on the customers at each
    # commit): the write-back inserts snapshots only of customers it joins to, while it holds the
    # customer table against writes until its commit (actions.do_write_scores), and deleting a
    # customer deletes its snapshots (the ORM's cascade, merges and the demo reset alike).
    run = models.ForeignKey(
        ScoringRun, on_delete=models.CASCADE, related_name="snapshots", db_constraint=False, db_index=False
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="grade_history",
        db_constraint=False,
        db_index=False,
    )
    cutoff = models.DateField(_("cutoff"))
    r_grade = models.CharField(max_length=2, blank=True)
    f_grade = models.CharField(max_length=2, blank=True)
    m_grade = models.CharField(max_length=2, blank=True)
    tier = models.CharField(max_length=10, blank=True)
    lifecycle_stage = models.CharField(max_length=20, blank=True)
    churn_probability = models.FloatField(null=True)

    class Meta:
        ordering = ["customer", "-cutoff"]
        constraints = [models.UniqueConstraint(fields=["run", "customer"], name="grade_snapshot_unique")]
        indexes = [models.Index(fields=["customer", "-cutoff"], name="grade_snapshot_customer")]


class WarningStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class GradeWarning(models.Model):
    """An early warning: a customer's grades slid across runs (a potential churner)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="grade_warnings")
    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="grade_warnings")
    code = models.CharField(_("warning"), max_length=40)
    reason = models.CharField(_("reason"), max_length=300)
    team = models.CharField(_("team"), max_length=20, default="marketing")
    status = models.CharField(_("status"), max_length=12, choices=WarningStatus.choices, default=WarningStatus.OPEN)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("grade warning")
        verbose_name_plural = _("grade warnings")
        constraints = [models.UniqueConstraint(fields=["customer", "run", "code"], name="grade_warning_unique")]
        indexes = [models.Index(fields=["status", "team", "-created_at"], name="grade_warning_queue")]
