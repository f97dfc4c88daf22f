"""Staff users, their roles and store scope, and hashed API tokens for machines."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    MARKETING = "marketing", _("Marketing")
    SALES = "sales", _("Sales")
    SERVICE = "service", _("Service agent")
    STORE_MANAGER = "store_manager", _("Store manager")
    ANALYST = "analyst", _("Analyst")


class User(AbstractUser):
    """A member of staff. What they may do is decided by `role` (see `kehu.accounts.policy`)."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.SERVICE)
    stores = models.ManyToManyField(
        "commerce.Store",
        blank=True,
        related_name="managers",
        verbose_name=_("stores"),
        help_text=_("Store managers see only the customers and orders of these stores."),
    )

    class Meta:
        verbose_name = _("staff user")
        verbose_name_plural = _("staff users")

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A machine credential. Only the SHA-256 of the secret is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
