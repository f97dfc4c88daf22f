"""Survivorship: which record survives a merge by default, which value of each profile field is
kept, and what happens to related rows that cannot simply be re-pointed to the survivor.

These are the rules the compare page pre-selects; the person merging may override each field.
They are plain data and functions so a deployment can change them in one place.

Defaults:
- The survivor is the earlier created record (the customer has been known since then); ties go
  to the lower id.
- A non-empty value beats an empty one.
- Where both records hold a value: identity fields (name, gender, birthday, party type, source
  key) keep the survivor's; contact-side fields (home store, preferred channel, household) take
  the more recently updated record's; a customer who bought is not a lead any more.
- Custom fields are combined key by key; the survivor's value wins where both have one.
- "Customer since" becomes the earlier of the two creation times.
- Purchase figures and the name-search index are recomputed, never chosen.

Related rows follow the survivor (every foreign key to Customer, found through Django's model
meta, so later apps' tables follow without changes here), except:
- derived per-record tables (`DROP_MODELS`), whose rows for the absorbed record are removed and
  kept in the merge record: the next scoring run scores the merged customer afresh;
- rows that would break a unique constraint on the survivor (both records hold consent for
  SMS marketing, both carry the tag "VIP"): `CONFLICT_RULES` decides which row stays; the other
  is removed and kept in the merge record. A table with such a conflict and no rule refuses the
  merge instead of guessing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from django.db import models
from django.utils.translation import gettext_lazy as _

Side = Literal["survivor", "absorbed"]
SURVIVOR: Side = "survivor"
ABSORBED: Side = "absorbed"


def default_survivor_first(a: Any, b: Any) -> tuple[Any, Any]:
    """(survivor, absorbed) for two customers by the default rule: earliest created survives."""
    return (a, b) if (a.created_at, a.pk) <= (b.created_at, b.pk) else (b, a)


def _empty(value: object) -> bool:
    return value is None or value == "" or value == {}


def survivor_unless_empty(s: Any, a: Any, field: str) -> Side:
    return ABSORBED if _empty(getattr(s, field)) and not _empty(getattr(a, field)) else SURVIVOR


def more_recent_unless_empty(s: Any, a: Any, field: str) -> Side:
    sv, av = getattr(s, field), getattr(a, field)
    if _empty(av):
        return SURVIVOR
    if _empty(sv):
        return ABSORBED
    return ABSORBED if a.updated_at > s.updated_at else SURVIVOR


def buyer_beats_lead(s: Any, a: Any, field: str) -> Side:
    return ABSORBED if s.kind == "lead" and a.kind != "lead" else SURVIVOR


def source_key_unless_empty(s: Any, a: Any, field: str) -> Side:
    return ABSORBED if not s.source_id and a.source_id else SURVIVOR


# The profile fields a person may choose between, their labels, and the default rule. A field is
# a Customer attribute name; "source" stands for the pair (source_system, source_id).
FieldRule = Callable[[Any, Any, str], Side]
FIELD_RULES: dict[str, tuple[Any, FieldRule]] = {
    "name": (_("Name"), survivor_unless_empty),
    "kind": (_("Kind"), buyer_beats_lead),
    "party_type": (_("Party type"), survivor_unless_empty),
    "gender": (_("Gender"), survivor_unless_empty),
    "birthday": (_("Birthday"), survivor_unless_empty),
    "household_id": (_("Household"), more_recent_unless_empty),
    "home_store_id": (_("Home store"), more_recent_unless_empty),
    "preferred_channel_id": (_("Preferred channel"), more_recent_unless_empty),
    "source": (_("Source system and id"), source_key_unless_empty),
}
SOURCE_FIELDS = ("source_system", "source_id")
# Recomputed after a merge (purchase figures) or kept by the database (updated_at).
DERIVED_FIELDS = ("order_count", "total_spent", "first_order_at", "last_order_at", "updated_at")


def field_values(customer: Any, field: str) -> Any:
    if field == "source":
        return (customer.source_system, customer.source_id)
    return getattr(customer, field)


def default_field_sources(survivor: Any, absorbed: Any) -> dict[str, Side]:
    """The default choice for every field whose values differ between the two records."""
    return {
        field: rule(survivor, absorbed, field)
        for field, (_label, rule) in FIELD_RULES.items()
        if field_values(survivor, field) != field_values(absorbed, field)
    }


# --- related rows ----------------------------------------------------------------------------

# Derived, per-record tables: the absorbed record's rows are removed (and kept for an unmerge),
# not moved; they are recomputed for the merged customer (search index now, scores next run).
DROP_MODELS = frozenset(
    {"customers.searchtoken", "scoring.customerscore", "scoring.gradesnapshot", "scoring.gradewarning"}
)

ConflictRule = Callable[[dict[str, Any], dict[str, Any]], Side]


def latest_consent_wins(survivor_row: dict[str, Any], absorbed_row: dict[str, Any]) -> Side:
    """The person's most recent statement stands; at the same moment a withdrawal wins. The
    ledger (ConsentEvent) of both records follows the survivor in full either way."""
    s_key = (survivor_row["updated_at"], survivor_row["status"] == "withdrawn")
    a_key = (absorbed_row["updated_at"], absorbed_row["status"] == "withdrawn")
    return ABSORBED if a_key > s_key else SURVIVOR


CONFLICT_RULES: dict[str, ConflictRule] = {
    "privacy.consent": latest_consent_wins,
}


def is_dropped(model: type[models.Model]) -> bool:
    return model._meta.label_lower in DROP_MODELS or getattr(model, "CUSTOMER_MERGE", "") == "drop"


def conflict_rule(model: type[models.Model]) -> ConflictRule | None:
    """How to settle a unique-constraint clash between a survivor's and an absorbed row; None
    means the merge is refused. Link tables of many-to-many fields (tags) keep one link."""
    label = model._meta.label_lower
    if label in CONFLICT_RULES:
        return CONFLICT_RULES[label]
    if model._meta.auto_created or getattr(model, "CUSTOMER_MERGE", "") == "keep_survivor":
        return lambda s, a: SURVIVOR
    return None
