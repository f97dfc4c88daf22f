"""Personal-information controls: the consent ledger and the append-only audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ContactChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")
    PHONE = "phone", _("Phone call")
    PUSH = "push", _("App push")


class Purpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service notices")
    ANALYTICS = "analytics", _("Personalisation and analytics")


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Consent(models.Model):
    """The current consent of one customer for one channel and purpose. Every change is also an
    entry in `ConsentEvent`, which is the ledger of record."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    status = models.CharField(_("status"), max_length=10, choices=ConsentStatus.choices)
    source = models.CharField(_("source"), max_length=100, blank=True)
    notice_version = models.CharField(_("notice version"), max_length=20, blank=True)
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        ordering = ["channel", "purpose"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel", "purpose"], name="consent_unique"),
        ]


class ConsentEvent(models.Model):
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="consent_events")
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    status = models.CharField(_("status"), max_length=10, choices=ConsentStatus.choices)
    source = models.CharField(_("source"), max_length=100, blank=True)
    notice_version = models.CharField(_("notice version"), max_length=20, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    DELETE = "delete", _("Deleted")
    VIEW = "view", _("Viewed full record")
    UNMASK = "unmask", _("Unmasked personal data")
    EXPORT = "export", _("Exported")
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Login failed")


class AppendOnlyQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: object) -> int:
        raise ValueError("Audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit events are append-only")


class AuditEvent(models.Model):
    """Append-only: refused by the model and its manager, and by the database (migration 0002)."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(_("who"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=50)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    via = models.CharField(_("via"), max_length=10, default="web")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["object_type", "object_id", "-at"], name="audit_object")]

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit events are append-only")
