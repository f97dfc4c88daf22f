"""Bulk customer upsert with deterministic identity resolution, for imports and other bulk feeds.

Resolution rule (the same every run, so re-importing a file changes nothing):
1. Inside the batch, rows are grouped: a row joins the first earlier group sharing, in this order,
   its (source system, source id), phone, email or member card; the group's first row supplies
   the profile, every row adds its identities.
2. Each group is matched to a stored customer by its first row's source key, then its phones,
   emails and member cards (in that order), then its other rows' source keys; unmatched groups
   become new customers.
3. A stored customer's profile changes only for non-empty incoming values, and only once per
   import (`settled`): a later row of the same file never overwrites an earlier one.
An identity already owned by another customer stays with its owner.

All writes are set-based (`kehu.imports.bulksql`); call inside a transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.commerce.models import Channel, Store
from kehu.customers.models import (
    Address,
    Customer,
    CustomerIdentity,
    CustomerKind,
    IdentityKind,
    Interaction,
    InteractionKind,
    PartyType,
    SearchToken,
)
from kehu.customers.search import name_tokens
from kehu.imports import bulksql

# Identity kinds in matching priority.
MATCH_ORDER = (IdentityKind.PHONE.value, IdentityKind.EMAIL.value, IdentityKind.MEMBER_CARD.value)
PROFILE_FIELDS = ("name", "gender", "birthday", "kind")


@dataclass
class CustomerRow:
    """One incoming customer, already cleansed (E.164 phone, lower-case email, NFC name)."""

    row: int
    name: str = ""
    source_system: str = ""
    source_id: str = ""
    phone: str = ""
    email: str = ""
    member_card: str = ""
    gender: str = ""
    birthday: dt.date | None = None
    kind: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    detail: str = ""
    preferred_channel_id: int | None = None
    home_store_id: int | None = None

    def identities(self) -> list[tuple[str, str]]:
        values = (self.phone, self.email, self.member_card)
        return [(kind, value) for kind, value in zip(MATCH_ORDER, values, strict=True) if value]

    def source_key(self) -> tuple[str, str] | None:
        return (self.source_system, self.source_id) if self.source_id else None

    def has_address(self) -> bool:
        return bool(self.province or self.city or self.district or self.detail)


@dataclass
class Change:
    """A row a bulk write created or changed, for an import's history (and its revert). Rows
    created in bulk are one Change with their `ids`, stored compactly as id ranges."""

    model: str
    object_id: int | None
    created: bool
    previous: dict[str, Any] | None = None
    ids: Sequence[int] | None = None


@dataclass
class UpsertResult:
    customer_ids: list[int]  # one per input row, in input order
    created: set[int] = field(default_factory=set)
    updated: set[int] = field(default_factory=set)
    unchanged: set[int] = field(default_factory=set)
    changes: list[Change] = field(default_factory=list)


@dataclass
class _Group:
    first: int
    rows: list[int] = field(default_factory=list)
    identities: list[tuple[str, str]] = field(default_factory=list)
    source_keys: list[tuple[str, str]] = field(default_factory=list)


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dt.datetime | dt.date):
            out[key] = value.isoformat()
        elif value is None or isinstance(value, bool | int | str):
            out[key] = value
        else:
            out[key] = str(value)
    return out


def _group(rows: Sequence[CustomerRow]) -> list[_Group]:
    groups: list[_Group] = []
    owner: dict[tuple[str, ...], int] = {}
    for index, row in enumerate(rows):
        source = row.source_key()
        keys: list[tuple[str, ...]] = ([("source", *source)] if source else []) + list(row.identities())
        found = next((owner[k] for k in keys if k in owner), None)
        if found is None:
            found = len(groups)
            groups.append(_Group(first=index))
        group = groups[found]
        group.rows.append(index)
        for key in keys:
            if key in owner:
                continue
            owner[key] = found
            if key[0] == "source":
                group.source_keys.append((key[1], key[2]))
            else:
                group.identities.append((key[0], key[1]))
    for group in groups:
        group.identities.sort(key=lambda pair: MATCH_ORDER.index(pair[0]))
    return groups


def _lookup(groups: list[_Group]) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """Stored customers by source key and by identity, for the keys in these groups."""
    by_source: dict[tuple[str, str], int] = {}
    by_system: dict[str, list[str]] = {}
    for group in groups:
        for system, source_id in group.source_keys:
            by_system.setdefault(system, []).append(source_id)
    for system, ids in by_system.items():
        rows = bulksql.fetch_any(
            f"SELECT source_id, id FROM {bulksql.table(Customer)} WHERE source_system = %s AND source_id IN ({{in}})",
            ids,
            [system],
        )
        by_source.update({(system, sid): cid for sid, cid in rows})
    by_identity: dict[tuple[str, str], int] = {}
    for kind in MATCH_ORDER:
        values = [v for g in groups for k, v in g.identities if k == kind]
        rows = bulksql.fetch_any(
            f"SELECT value, customer_id FROM {bulksql.table(CustomerIdentity)} WHERE kind = %s AND value IN ({{in}})",
            values,
            [kind],
        )
        by_identity.update({(kind, value): cid for value, cid in rows})
    return by_source, by_identity


def _match(group: _Group, by_source: dict[tuple[str, str], int], by_identity: dict[tuple[str, str], int]) -> int | None:
    keys = group.source_keys
    if keys and keys[0] in by_source:
        return by_source[keys[0]]
    for identity in group.identities:
        if identity in by_identity:
            return by_identity[identity]
    for key in keys[1:]:
        if key in by_source:
            return by_source[key]
    return None


def do_bulk_upsert_customers(
    rows: Sequence[CustomerRow],
    *,
    update_profiles: bool = True,
    settled: set[int] | None = None,
    ref_type: str = "import",
    ref_id: int | None = None,
) -> UpsertResult:
    """Resolve every row to one customer, creating and updating customers and identities in bulk.
    `settled` holds customers an earlier batch of the same import already wrote (updated in place).
    Trusts its input; call inside a transaction."""
    settled = settled if settled is not None else set()
    groups = _group(rows)
    by_source, by_identity = _lookup(groups)
    matched = [_match(g, by_source, by_identity) for g in groups]
    new_groups = [g for g, cid in zip(groups, matched, strict=True) if cid is None]
    new_ids = iter(bulksql.allocate_ids(Customer, len(new_groups)))
    group_ids = [cid if cid is not None else next(new_ids) for cid in matched]
    created_ids = {cid for cid, m in zip(group_ids, matched, strict=True) if m is None}

    customer_ids = [0] * len(rows)
    for group, cid in zip(groups, group_ids, strict=True):
        for index in group.rows:
            customer_ids[index] = cid
    result = UpsertResult(customer_ids=customer_ids, created=set(created_ids))
    now = timezone.now()

    # Foreign keys checked once per distinct parent (PostgreSQL, ADR 0201): the stored customers
    # matched, and the stores and channels new customers point at; customers created here are
    # copied inside the block before anything references them. No key column of a stored row
    # changes.
    new_firsts = [rows[g.first] for g, cid in zip(groups, group_ids, strict=True) if cid in created_ids]
    references = {
        Customer: {cid for cid in group_ids if cid not in created_ids},
        Store: {r.home_store_id for r in new_firsts},
        Channel: {r.preferred_channel_id for r in new_firsts},
    }
    with bulksql.foreign_keys_checked_set_based(references):
        _insert_customers(rows, groups, group_ids, created_ids, now, result)
        renamed = _update_profiles(rows, groups, group_ids, created_ids, settled, update_profiles, now, result)
        _insert_identities(rows, groups, group_ids, created_ids, by_identity, now, result)
        _insert_addresses(rows, groups, group_ids, created_ids, result)
        _index_names(
            [(cid, rows[g.first].name) for g, cid in zip(groups, group_ids, strict=True) if cid in created_ids], renamed
        )
        bulksql.copy_insert(
            Interaction,
            ["customer_id", "kind", "occurred_at", "title", "detail", "ref_type", "ref_id"],
            [(cid, InteractionKind.REGISTRATION.value, now, _("Customer record created"), "", ref_type, ref_id)
             for cid in sorted(created_ids)],
        )  # fmt: skip
    settled.update(group_ids)
    return result


def _insert_customers(
    rows: Sequence[CustomerRow],
    groups: list[_Group],
    group_ids: list[int],
    created_ids: set[int],
    now: dt.datetime,
    result: UpsertResult,
) -> None:
    new_rows = []
    for group, cid in zip(groups, group_ids, strict=True):
        if cid not in created_ids:
            continue
        first = rows[group.first]
        system, source_id = group.source_keys[0] if group.source_keys else (first.source_system, "")
        new_rows.append(
            (cid, first.kind or CustomerKind.CONSUMER.value, PartyType.PERSON.value,
             first.name or _("Unnamed customer"),
             first.gender, first.birthday, first.home_store_id, first.preferred_channel_id, system, source_id, {},
             0, 0, now, now)
        )  # fmt: skip
    if new_rows:
        result.changes.append(Change("customers.customer", None, True, ids=[row[0] for row in new_rows]))
    bulksql.copy_insert(
        Customer,
        ["id", "kind", "party_type", "name", "gender", "birthday", "home_store_id", "preferred_channel_id",
         "source_system", "source_id", "custom", "order_count", "total_spent", "created_at", "updated_at"],
        new_rows,
    )  # fmt: skip


def _update_profiles(
    rows: Sequence[CustomerRow],
    groups: list[_Group],
    group_ids: list[int],
    created_ids: set[int],
    settled: set[int],
    update_profiles: bool,
    now: dt.datetime,
    result: UpsertResult,
) -> list[tuple[int, str]]:
    """Apply changed profile fields to stored customers; returns (id, new name) of renamed ones."""
    existing = [(g, cid) for g, cid in zip(groups, group_ids, strict=True) if cid not in created_ids]
    if not existing:
        return []
    if not update_profiles:  # buyers of orders: stored profiles are left alone, no need to read them
        result.unchanged.update(cid for _g, cid in existing if cid not in result.updated)
        return []
    columns = [*PROFILE_FIELDS, "source_system", "source_id", "updated_at"]
    stored: dict[int, dict[str, Any]] = {}
    ids = sorted({cid for _g, cid in existing})
    for part in bulksql.batched(ids, bulksql.IN_BATCH):
        for values in Customer.objects.filter(pk__in=part).values("id", *columns):
            stored[values.pop("id")] = values
    used_sources = {(v["source_system"], v["source_id"]) for v in stored.values() if v["source_id"]}
    updates: list[tuple[Any, ...]] = []
    renamed: list[tuple[int, str]] = []
    seen: set[int] = set()
    for group, cid in existing:
        if cid in seen or cid in settled or not update_profiles:
            seen.add(cid)
            if cid not in result.updated:
                result.unchanged.add(cid)
            continue
        seen.add(cid)
        before = stored[cid]
        first = rows[group.first]
        after = dict(before)
        incoming = {"name": first.name, "gender": first.gender, "birthday": first.birthday, "kind": first.kind}
        after.update({k: v for k, v in incoming.items() if v not in ("", None)})
        source = group.source_keys[0] if group.source_keys else None
        if not before["source_id"] and source and source not in used_sources:
            after["source_system"], after["source_id"] = source
            used_sources.add(source)
        if after == before:
            result.unchanged.add(cid)
            continue
        after["updated_at"] = now
        updates.append((cid, *(after[c] for c in columns)))
        result.updated.add(cid)
        result.changes.append(Change("customers.customer", cid, False, jsonable(before)))
        if after["name"] != before["name"]:
            renamed.append((cid, after["name"]))
    bulksql.update_by_id(Customer, columns, updates)
    return renamed


def _insert_identities(
    rows: Sequence[CustomerRow],
    groups: list[_Group],
    group_ids: list[int],
    created_ids: set[int],
    by_identity: dict[tuple[str, str], int],
    now: dt.datetime,
    result: UpsertResult,
) -> None:
    new_rows = []
    for group, cid in zip(groups, group_ids, strict=True):
        system = rows[group.first].source_system
        kinds_seen: set[str] = set()
        for kind, value in group.identities:
            if (kind, value) in by_identity:
                continue  # already stored, with this customer or (left alone) another
            primary = cid in created_ids and kind not in kinds_seen
            kinds_seen.add(kind)
            new_rows.append((cid, kind, value, primary, False, system, now))
            if cid not in created_ids:
                result.changes.append(
                    Change("customers.customeridentity", None, True, {"customer": cid, "kind": kind, "value": value})
                )
    bulksql.insert_ignore_conflicts(
        CustomerIdentity,
        ["customer_id", "kind", "value", "is_primary", "verified", "source_system", "created_at"],
        new_rows,
        conflict=["kind", "value"],
    )


def _insert_addresses(
    rows: Sequence[CustomerRow],
    groups: list[_Group],
    group_ids: list[int],
    created_ids: set[int],
    result: UpsertResult,
) -> None:
    """Each row's address is added unless the customer already has the same one."""
    wanted: list[tuple[int, tuple[str, str, str, str]]] = []
    for group, cid in zip(groups, group_ids, strict=True):
        for index in group.rows:
            row = rows[index]
            if row.has_address():
                wanted.append((cid, (row.province, row.city, row.district, row.detail)))
    if not wanted:
        return
    known: set[tuple[int, tuple[str, str, str, str]]] = set()
    has_any: set[int] = set()
    stored_ids = sorted({cid for cid, _a in wanted if cid not in created_ids})
    for part in bulksql.batched(stored_ids, bulksql.IN_BATCH):
        for cid, *parts in Address.objects.filter(customer_id__in=part).values_list(
            "customer_id", "province", "city", "district", "detail"
        ):
            known.add((cid, tuple(parts)))  # type: ignore[arg-type]
            has_any.add(cid)
    fresh = [(cid, parts) for cid, parts in dict.fromkeys(wanted) if (cid, parts) not in known]
    ids = bulksql.allocate_ids(Address, len(fresh))
    new_rows = []
    for address_id, (cid, parts) in zip(ids, fresh, strict=True):
        new_rows.append((address_id, cid, "", "", *parts, "", cid not in has_any))
        has_any.add(cid)
        if cid not in created_ids:
            result.changes.append(Change("customers.address", address_id, True))
    bulksql.copy_insert(
        Address,
        [
            "id",
            "customer_id",
            "label",
            "recipient",
            "province",
            "city",
            "district",
            "detail",
            "postal_code",
            "is_default",
        ],
        new_rows,
    )


def _index_names(new: Iterable[tuple[int, str]], renamed: list[tuple[int, str]]) -> None:
    bulksql.delete_in(SearchToken, "customer_id", [cid for cid, _n in renamed])
    bulksql.copy_insert(
        SearchToken,
        ["customer_id", "token"],
        [(cid, token) for cid, name in [*new, *renamed] for token in sorted(name_tokens(name))],
    )
