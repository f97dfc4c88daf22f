"""Import jobs, their history (which rows each job created or changed, so it can be reverted) and
saved column mappings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportMode(models.TextChoices):
    ATOMIC = "atomic", _("All or nothing")
    SKIP = "skip", _("Skip bad rows")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    REVERTED = "reverted", _("Reverted")


class ImportJob(models.Model):
    """One run of an import. Progress and counts are written between chunks, so the UI can show
    them while a background worker runs the job."""

    kind = models.CharField(_("kind"), max_length=40)
    file_name = models.CharField(_("file"), max_length=500)
    source = models.CharField(_("source system"), max_length=40)
    mode = models.CharField(_("mode"), max_length=10, choices=ImportMode.choices, default=ImportMode.SKIP)
    dry_run = models.BooleanField(_("dry run"), default=False)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    rows_processed = models.IntegerField(_("rows processed"), default=0)
    rows_total = models.IntegerField(_("rows in file"), null=True, blank=True)
    created = models.IntegerField(_("created"), default=0)
    updated = models.IntegerField(_("updated"), default=0)
    unchanged = models.IntegerField(_("unchanged"), default=0)
    errors = models.IntegerField(_("rows with errors"), default=0)
    error_report = models.TextField(_("error report (CSV)"), blank=True)
    message = models.CharField(_("message"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name}"

    def summary(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged, "errors": self.errors}


class ImportedRecord(models.Model):
    """A row an import created or changed. `previous` holds the changed row's values before the
    import (for `revert_import`); `key` identifies rows that have no id of their own worth keeping."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records", db_index=False)
    model = models.CharField(max_length=60)
    object_id = models.BigIntegerField(null=True)
    created = models.BooleanField()
    previous = models.JSONField(null=True)

    class Meta:
        indexes = [models.Index(fields=["job", "model"], name="imported_record_job")]


class SavedMapping(models.Model):
    """A column mapping kept under a name, for files that arrive in the same shape every week."""

    kind = models.CharField(_("kind"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    columns = models.JSONField(_("columns"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("saved mapping")
        verbose_name_plural = _("saved mappings")
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="saved_mapping_unique")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}"
