"""Merge two customer records into one and undo it exactly.

`do_merge` re-points every row that references the absorbed customer to the survivor (found via
Django's model meta: orders, returns, notes, identities, addresses, consents and their ledger,
tags, interactions, and whatever later apps add), removes the few rows that cannot move (see
`survivorship`), applies the chosen profile values, deletes the absorbed record, and writes a
`MergeRecord` listing every moved id and every removed row. `do_unmerge` reverses exactly that.
Callers check permissions and input (`kehu.identity.actions`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.customers.models import Customer, Interaction, InteractionKind, SearchToken
from kehu.identity import survivorship
from kehu.identity.models import MergeRecord
from kehu.identity.rows import batched, current_row, decode_row, dump_rows, restore_rows

if TYPE_CHECKING:
    from kehu.accounts.models import User

MERGE_INTERACTION_KIND = InteractionKind.MERGE


class MergeRefused(Exception):
    """A merge or unmerge that cannot be done (safely or exactly); nothing was changed."""


@dataclass(frozen=True)
class CustomerRelation:
    model: type[models.Model]
    field: models.Field  # type: ignore[type-arg]

    @property
    def label(self) -> str:
        return self.model._meta.label_lower


def customer_relations() -> list[CustomerRelation]:
    """Every foreign key (and one-to-one, and many-to-many link table) pointing at Customer,
    except this app's own history tables."""
    found = []
    for rel in Customer._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
            continue
        model = rel.related_model
        if model._meta.app_label == "identity" or model._meta.proxy or not model._meta.managed:
            continue
        found.append(CustomerRelation(model, rel.field))
    return sorted(found, key=lambda r: (r.label, r.field.attname))


def _unique_partners(relation: CustomerRelation) -> list[list[str]]:
    """For each unique constraint containing the customer column, the other columns in it."""
    meta = relation.model._meta
    name = relation.field.name
    sets: list[list[str]] = []
    if relation.field.unique:
        sets.append([])
    groups = [list(ut) for ut in meta.unique_together] + [list(c.fields) for c in meta.total_unique_constraints]
    for group in groups:
        if name in group:
            sets.append([meta.get_field(f).attname for f in group if f != name])
    return sets


def _conflicts(relation: CustomerRelation, survivor_id: int, absorbed_id: int) -> list[tuple[Any, Any]]:
    """(survivor row pk, absorbed row pk) pairs that would clash under a unique constraint."""
    manager = relation.model._base_manager
    column = relation.field.attname
    pairs: set[tuple[Any, Any]] = set()
    for others in _unique_partners(relation):
        survivor_keys = {
            tuple(row[1:]): row[0] for row in manager.filter(**{column: survivor_id}).values_list("pk", *others)
        }
        if not survivor_keys:
            continue
        for row in manager.filter(**{column: absorbed_id}).values_list("pk", *others):
            if tuple(row[1:]) in survivor_keys:
                pairs.add((survivor_keys[tuple(row[1:])], row[0]))
    return sorted(pairs, key=str)


def _delete_pks(model: type[models.Model], pks: list[Any]) -> None:
    for part in batched(pks):
        model._base_manager.filter(pk__in=part)._raw_delete(model._base_manager.db)  # type: ignore[attr-defined]


def _verbose(model: type[models.Model]) -> str:
    return str(model._meta.verbose_name_plural)


@transaction.atomic
def do_merge(
    actor: User | None,
    survivor: Customer,
    absorbed: Customer,
    field_sources: dict[str, str] | None = None,
    *,
    via: str = "web",
) -> MergeRecord:
    """Merge `absorbed` into `survivor`. `field_sources` maps a field of
    `survivorship.FIELD_RULES` to "survivor" or "absorbed"; fields not given follow the default
    rules. Raises MergeRefused (and changes nothing) when related rows clash without a rule."""
    from kehu.customers.actions import do_index_names, do_refresh_purchase_stats, snapshot
    from kehu.privacy.actions import do_audit
    from kehu.privacy.models import AuditAction

    locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[survivor.pk, absorbed.pk])}
    if len(locked) != 2:
        raise MergeRefused(_("One of the customers no longer exists."))
    survivor, absorbed = locked[survivor.pk], locked[absorbed.pk]
    sources = {**survivorship.default_field_sources(survivor, absorbed), **(field_sources or {})}
    survivor_before = current_row(Customer, survivor.pk)
    absorbed_row = current_row(Customer, absorbed.pk)
    assert survivor_before is not None and absorbed_row is not None
    moved: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    removed: dict[str, list[dict[str, Any]]] = defaultdict(list)

    for relation in customer_relations():
        model, column, label = relation.model, relation.field.attname, relation.label
        manager = model._base_manager
        rows = manager.filter(**{column: absorbed.pk})
        if survivorship.is_dropped(model):
            pks = list(rows.values_list("pk", flat=True))
            removed[label].extend(dump_rows(model, pks))
            _delete_pks(model, pks)
            continue
        conflicts = _conflicts(relation, survivor.pk, absorbed.pk)
        if conflicts:
            rule = survivorship.conflict_rule(model)
            if rule is None:
                raise MergeRefused(
                    _("Both customers have %(things)s that cannot be combined automatically.")
                    % {"things": _verbose(model)}
                )
            pk_name = model._meta.pk.attname
            for survivor_pk, absorbed_pk in conflicts:
                decoded = (decode_row(model, r) for r in dump_rows(model, [survivor_pk, absorbed_pk]))
                pair = {row[pk_name]: row for row in decoded}
                s_row, a_row = pair[survivor_pk], pair[absorbed_pk]
                loser = absorbed_pk if rule(s_row, a_row) == survivorship.SURVIVOR else survivor_pk
                removed[label].extend(dump_rows(model, [loser]))
                _delete_pks(model, [loser])
        pks = list(rows.values_list("pk", flat=True))
        if pks:
            for part in batched(pks):
                manager.filter(pk__in=part).update(**{column: survivor.pk})
            moved[label][column] = pks

    # The absorbed record's own search tokens went with DROP_MODELS; now nothing refers to it.
    Customer.objects.filter(pk=absorbed.pk)._raw_delete(Customer.objects.db)  # type: ignore[attr-defined]

    changes: dict[str, Any] = {}
    for field, side in sources.items():
        if side != survivorship.ABSORBED or field not in survivorship.FIELD_RULES:
            continue
        names = survivorship.SOURCE_FIELDS if field == "source" else (field,)
        for name in names:
            if getattr(absorbed, name) != getattr(survivor, name):
                changes[name] = getattr(absorbed, name)
    custom = {**(absorbed.custom or {}), **(survivor.custom or {})}
    if custom != survivor.custom:
        changes["custom"] = custom
    if absorbed.created_at < survivor.created_at:
        changes["created_at"] = absorbed.created_at
    changes["updated_at"] = timezone.now()
    Customer.objects.filter(pk=survivor.pk).update(**changes)
    do_refresh_purchase_stats([survivor.pk])
    survivor.refresh_from_db()
    if "name" in changes:
        old_tokens = list(SearchToken.objects.filter(customer_id=survivor.pk).values_list("pk", flat=True))
        removed["customers.searchtoken"].extend(dump_rows(SearchToken, old_tokens))
        do_index_names([survivor])

    record = MergeRecord.objects.create(
        survivor=survivor,
        absorbed_id=absorbed.pk,
        absorbed_name=absorbed.name,
        absorbed_row=absorbed_row,
        survivor_before=survivor_before,
        survivor_after={},
        moved=dict(moved),
        removed=dict(removed),
        field_sources=sources,
        merged_by=actor if actor is not None and actor.is_authenticated else None,
        via=via,
    )
    interaction = Interaction.objects.create(
        customer=survivor,
        kind=MERGE_INTERACTION_KIND,
        occurred_at=record.merged_at,
        title=_("Merged with %(name)s (#%(id)s)") % {"name": absorbed.name, "id": absorbed.pk},
        detail=_("Merged by %(user)s") % {"user": actor.get_username() if actor else "system"},
        ref_type="merge",
        ref_id=record.pk,
    )
    record.interaction_id = interaction.pk
    record.survivor_after = current_row(Customer, survivor.pk) or {}
    record.save(update_fields=["interaction_id", "survivor_after"])
    summary = {label: sum(len(p) for p in cols.values()) for label, cols in moved.items()}
    do_audit(
        actor,
        AuditAction.UPDATE,
        "customer",
        survivor.pk,
        before=snapshot(Customer(**decode_row(Customer, survivor_before))),
        after={**snapshot(survivor), "merged_from": absorbed.pk, "merge": record.pk, "moved": summary},
        via=via,
    )
    do_audit(
        actor,
        AuditAction.DELETE,
        "customer",
        absorbed.pk,
        before=snapshot(absorbed),
        after={"merged_into": survivor.pk, "merge": record.pk},
        via=via,
    )
    return record


# --- undo -----------------------------------------------------------------------------------


def unmerge_blockers(record: MergeRecord) -> list[str]:
    """Why this merge can no longer be undone exactly; empty when it can."""
    if record.undone_at is not None:
        return [_("This merge has already been undone.")]
    reasons: list[str] = []
    if Customer.objects.filter(pk=record.absorbed_id).exists():
        reasons.append(_("A customer with id %(id)s exists again.") % {"id": record.absorbed_id})
    if not Customer.objects.filter(pk=record.survivor_id).exists():
        later = MergeRecord.objects.filter(absorbed_id=record.survivor_id, undone_at__isnull=True).first()
        if later is not None:
            reasons.append(
                _("The surviving record was later merged into #%(id)s; undo that merge first.")
                % {"id": later.survivor_id}
            )
        else:
            reasons.append(_("The surviving record no longer exists."))
        return reasons
    later_merges = MergeRecord.objects.filter(
        survivor_id=record.survivor_id, undone_at__isnull=True, pk__gt=record.pk
    ).values_list("absorbed_id", flat=True)
    for absorbed_id in later_merges:
        reasons.append(
            _("Customer #%(id)s was merged into the same record later; undo that merge first.") % {"id": absorbed_id}
        )
    if reasons:
        return reasons
    from django.apps import apps

    for label, columns in record.moved.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            reasons.append(_("The table %(table)s no longer exists.") % {"table": label})
            continue
        for column, pks in columns.items():
            still = sum(
                model._base_manager.filter(pk__in=part, **{column: record.survivor_id}).count() for part in batched(pks)
            )
            if still != len(pks):
                reasons.append(
                    _("%(n)s of the %(things)s that were moved have since been deleted or moved.")
                    % {"n": len(pks) - still, "things": _verbose(model)}
                )
    current = current_row(Customer, record.survivor_id) or {}
    changed_since = [
        name
        for name, after in record.survivor_after.items()
        if name not in survivorship.DERIVED_FIELDS
        and current.get(name) != after
        and record.survivor_before.get(name) != after
    ]
    if changed_since:
        reasons.append(
            _("The merged record's %(fields)s changed after the merge.") % {"fields": ", ".join(changed_since)}
        )
    return reasons


@transaction.atomic
def do_unmerge(actor: User | None, record: MergeRecord, *, via: str = "web") -> Customer:
    """Put both records back exactly as they were before the merge. Raises MergeRefused (and
    changes nothing) when that is no longer possible."""
    from django.apps import apps

    from kehu.customers.actions import do_refresh_purchase_stats, snapshot
    from kehu.privacy.actions import do_audit
    from kehu.privacy.models import AuditAction

    list(Customer.objects.select_for_update().filter(pk=record.survivor_id))
    record = MergeRecord.objects.select_for_update().get(pk=record.pk)
    blockers = unmerge_blockers(record)
    if blockers:
        raise MergeRefused(" ".join(blockers))
    try:
        with transaction.atomic():
            current = current_row(Customer, record.survivor_id) or {}
            untouched = all(
                current.get(name) == after
                for name, after in record.survivor_after.items()
                if name in survivorship.DERIVED_FIELDS
            )
            restore = {
                name: before
                for name, before in record.survivor_before.items()
                if name != "id"
                and current.get(name) == record.survivor_after.get(name)
                and (name not in survivorship.DERIVED_FIELDS or untouched)
            }
            Customer.objects.filter(pk=record.survivor_id).update(**decode_row(Customer, restore))
            # The survivor first: it may hold values (e.g. a source id) that the absorbed record
            # owned and that unique constraints allow in one place only.
            restore_rows("customers.customer", [record.absorbed_row])
            for label, columns in record.moved.items():
                model = apps.get_model(label)
                for column, pks in columns.items():
                    for part in batched(pks):
                        model._base_manager.filter(pk__in=part).update(**{column: record.absorbed_id})
            name_restored = "name" in restore and restore["name"] != record.survivor_after.get("name")
            if name_restored:
                SearchToken.objects.filter(customer_id=record.survivor_id).delete()
            for label, rows in record.removed.items():
                restore_rows(label, rows)
            if record.interaction_id:
                Interaction.objects.filter(pk=record.interaction_id, customer_id=record.survivor_id).delete()
            if not untouched:
                do_refresh_purchase_stats([record.survivor_id])
    except IntegrityError as exc:
        raise MergeRefused(
            _("The records cannot be separated exactly: later changes conflict with the restored rows (%(error)s).")
            % {"error": exc}
        ) from exc
    record.undone_at = timezone.now()
    record.undone_by = actor if actor is not None and actor.is_authenticated else None
    record.save(update_fields=["undone_at", "undone_by"])
    from kehu.identity.models import SuggestionStatus

    record.suggestions.update(status=SuggestionStatus.PENDING, decided_by=None, decided_at=None, merge=None)
    absorbed = Customer.objects.get(pk=record.absorbed_id)
    do_audit(
        actor, AuditAction.CREATE, "customer", absorbed.pk, after={**snapshot(absorbed), "unmerge": record.pk}, via=via
    )
    do_audit(
        actor,
        AuditAction.UPDATE,
        "customer",
        record.survivor_id,
        before={"merge": record.pk},
        after={"unmerged": absorbed.pk},
        via=via,
    )
    return absorbed
