"""Runs of the data-quality page's bulk fixes: which fix, by whom, how far, how many changed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class FixStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Done")
    FAILED = "failed", _("Failed")


class FixRun(models.Model):
    check_key = models.CharField(_("check"), max_length=40)
    status = models.CharField(_("status"), max_length=10, choices=FixStatus.choices, default=FixStatus.QUEUED)
    candidates = models.IntegerField(_("records found"), default=0)
    processed = models.IntegerField(_("records looked at"), default=0)
    changed = models.IntegerField(_("records changed"), default=0)
    message = models.CharField(_("message"), max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("data-quality fix")
        verbose_name_plural = _("data-quality fixes")

    def __str__(self) -> str:
        return self.check_key

    @property
    def progress(self) -> int:
        if self.status == FixStatus.SUCCEEDED:
            return 100
        if not self.candidates:
            return 0
        return min(99, self.processed * 100 // self.candidates)

    @property
    def is_active(self) -> bool:
        return self.status in (FixStatus.QUEUED, FixStatus.RUNNING)


class CheckCount(models.Model):
    """The last count of one check in one scope ("all", or a store manager's stores), so that a
    count that takes seconds at millions of rows is computed once, in the background, and shared
    by every web and worker process."""

    scope = models.CharField(max_length=200)
    check_key = models.CharField(max_length=40)
    count = models.IntegerField(null=True)
    seconds = models.FloatField(default=0)
    counted_at = models.DateTimeField(null=True)
    requested_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "check_key"], name="quality_check_count_unique")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.check_key}"

    @property
    def pending(self) -> bool:
        """A background count was asked for and has not finished (or was asked for again)."""
        return self.requested_at is not None and (self.counted_at is None or self.requested_at > self.counted_at)
