"""Custom field definitions: admins add typed fields to customers, orders (and later tickets);
the values live in each record's `custom` JSONField, keyed by the definition's `key`."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
key_validator = RegexValidator(
    KEY_PATTERN, _("Use lower-case letters, digits and underscores, starting with a letter (at most 40).")
)


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    BOOLEAN = "boolean", _("Yes/no")


CHOICE_TYPES = frozenset({FieldType.CHOICE, FieldType.MULTI_CHOICE})


class FieldDefinition(models.Model):
    """One custom field of one entity. `choices` is a list of `{"value", "zh", "en"}` objects whose
    `value` is stable (stored in records); labels may change freely."""

    entity = models.CharField(_("record type"), max_length=30)
    key = models.CharField(_("key"), max_length=40, validators=[key_validator])
    label_zh = models.CharField(_("label (Chinese)"), max_length=100)
    label_en = models.CharField(_("label (English)"), max_length=100, blank=True)
    type = models.CharField(_("type"), max_length=20, choices=FieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    show_in_list = models.BooleanField(_("show in list by default"), default=False)
    is_personal = models.BooleanField(
        _("personal data"),
        default=False,
        help_text=_("Masked like phone numbers for roles that may not unmask personal data."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["entity", "position", "pk"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [models.UniqueConstraint(fields=["entity", "key"], name="customfield_entity_key_unique")]

    def __str__(self) -> str:
        return f"{self.entity}.{self.key}"

    @property
    def label(self) -> str:
        """The label in the active language (Chinese unless the page is in English)."""
        if (get_language() or "").startswith("en") and self.label_en:
            return self.label_en
        return self.label_zh

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES

    def choice_values(self) -> list[str]:
        return [c["value"] for c in self.choices]

    def choice_label(self, value: str) -> str:
        english = (get_language() or "").startswith("en")
        for choice in self.choices:
            if choice["value"] == value:
                return (choice.get("en") if english else "") or choice.get("zh") or value
        return value
