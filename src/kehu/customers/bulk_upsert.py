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
    _add_missing_addresses(wanted, created_ids, result)


def _add_missing_addresses(
    wanted: list[tuple[int, tuple[str, str, str, str]]], created_ids: set[int], result: UpsertResult
) -> None:
    """Insert each (customer, address) not stored yet; a customer's first address is its default."""
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
        ["id", "customer_id", "label", "recipient", "province", "city", "district", "detail", "postal_code",
         "is_default"],
        new_rows,
    )  # fmt: skip


def _index_names(new: Iterable[tuple[int, str]], renamed: list[tuple[int, str]]) -> None:
    bulksql.delete_in(SearchToken, "customer_id", [cid for cid, _n in renamed])
    bulksql.copy_insert(
        SearchToken,
        ["customer_id", "token"],
        [(cid, token) for cid, name in [*new, *renamed] for token in sorted(name_tokens(name))],
    )


# --- Buyers as columns ----------------------------------------------------------------------

BUYER_COLUMNS = ("name", "phone", "email", "member_card", "province", "city", "district", "detail")


def _first_rows(codes: Any, size: int) -> Any:
    """For codes numbered in order of first appearance (`pandas.factorize`), the row where each
    code first appears."""
    import numpy as np

    present = codes >= 0
    first = np.full(int(codes.max()) + 1 if present.any() else 0, size, dtype=np.int64)
    np.minimum.at(first, codes[present], np.flatnonzero(present))
    return first


def group_identity_columns(identities: Sequence[Any]) -> tuple[Any, Any, list[tuple[Any, Any, Any]]]:
    """`_group` over columns, for rows without a source key: `identities` are the phone, email and
    member card columns (object arrays, "" for none), in `MATCH_ORDER`. A row joins the group of
    the earliest row that first carried, in that order, its phone, email or member card; a row
    none of whose values appeared before starts a group.

    Returns each row's group (groups numbered in order of their first row), each group's first
    row, and per identity kind (codes of each row's value, -1 for none; the distinct values; the
    first row carrying each value). The group owning a value is the group of its first row."""
    import numpy as np
    import pandas as pd

    size = len(identities[0]) if identities else 0
    rows = np.arange(size, dtype=np.int64)
    parent = rows.copy()
    decided = np.zeros(size, dtype=bool)
    kinds = []
    for values in identities:
        values = np.asarray(values, dtype=object)
        codes, uniques = pd.factorize(values)
        codes = np.where(values == "", -1, codes).astype(np.int64)
        first = _first_rows(codes, size)
        earlier = np.where(codes >= 0, first[np.maximum(codes, 0)] if len(first) else rows, rows)
        joins = ~decided & (earlier < rows)
        parent[joins] = earlier[joins]
        decided |= joins
        kinds.append((codes, np.asarray(uniques, dtype=object), first))
    # Each row points at an earlier row of its group: follow the pointers to the group's first row.
    while True:
        hop = parent[parent]
        if np.array_equal(hop, parent):
            break
        parent = hop
    firsts = np.flatnonzero(parent == rows)
    return np.searchsorted(firsts, parent), firsts, kinds


def do_bulk_upsert_buyers(
    columns: dict[str, Any],
    *,
    source_system: str,
    preferred_channel_id: Any,
    home_store_id: Any,
    settled: set[int] | None = None,
    ref_type: str = "import",
    ref_id: int | None = None,
    index_names: bool = True,
) -> UpsertResult:
    """`do_bulk_upsert_customers(rows, update_profiles=False)` for buyers given as columns
    (`BUYER_COLUMNS` → object arrays, already cleansed; no source key, gender, birthday or kind),
    with the channel (int64 array) and home store (object array, int or None) a new customer
    gets. Grouping, matching, new customers, identities, addresses, name tokens and timeline
    entries are exactly those of the row form, computed a column at a time (no object per row).
    `customer_ids` is an int64 array. With `index_names=False` the new customers' name tokens
    are left to a later `do_index_missing_names` (an import writes them once its buyers' figures
    are final, so each token is written once with its spend instead of written and rewritten).
    Call inside a transaction."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    size = len(columns["name"])
    settled = settled if settled is not None else set()
    if not size:
        return UpsertResult(customer_ids=np.zeros(0, dtype=np.int64))
    group_of, firsts, kinds = group_identity_columns([columns[k] for k in ("phone", "email", "member_card")])
    groups = len(firsts)

    # Every distinct identity with its kind rank, owning group and first row; stored owners looked up.
    parts = []
    for rank, (kind, (codes, uniques, first)) in enumerate(zip(MATCH_ORDER, kinds, strict=True)):
        used = np.unique(codes[codes >= 0])
        if not len(used):
            continue
        values = uniques[used]
        rows = bulksql.fetch_any(
            f"SELECT value, customer_id FROM {bulksql.table(CustomerIdentity)} WHERE kind = %s AND value IN ({{in}})",
            values.tolist(),
            [kind],
        )
        owner = np.full(len(values), -1, dtype=np.int64)
        if rows:
            stored = pd.Index([value for value, _cid in rows])
            hit = stored.get_indexer(values)
            owner = np.where(hit >= 0, np.array([cid for _v, cid in rows], dtype=np.int64)[hit], -1)
        parts.append(pd.DataFrame({"rank": rank, "kind": kind, "value": values, "first": first[used],
                                   "group": group_of[first[used]], "stored": owner}))  # fmt: skip
    keys = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({"rank": [], "kind": [], "value": [], "first": [], "group": [], "stored": []})
    )
    # A group's identities in matching priority (kind, then the row that brought them): the
    # first one already stored names its customer.
    keys = keys.sort_values(["group", "rank", "first"], kind="stable", ignore_index=True)
    matched = np.full(groups, -1, dtype=np.int64)
    hits = keys[keys["stored"] >= 0].drop_duplicates("group")
    matched[hits["group"].to_numpy(dtype=np.int64)] = hits["stored"].to_numpy(dtype=np.int64)
    new_groups = np.flatnonzero(matched < 0)
    group_ids = matched.copy()
    group_ids[new_groups] = np.asarray(bulksql.allocate_ids(Customer, len(new_groups)), dtype=np.int64)
    customer_ids = group_ids[group_of]
    created = group_ids[new_groups]
    result = UpsertResult(customer_ids=customer_ids, created=set(created.tolist()))
    result.unchanged.update(np.unique(matched[matched >= 0]).tolist())
    now = timezone.now()

    new_firsts = firsts[new_groups]
    store = np.asarray(home_store_id, dtype=object)[new_firsts]
    channel = np.asarray(preferred_channel_id, dtype=np.int64)[new_firsts]
    references = {
        Customer: set(matched[matched >= 0].tolist()),
        Store: set(store.tolist()),
        Channel: set(channel.tolist()),
    }
    count = len(new_groups)
    stamp = pa.array(np.full(count, np.datetime64(now.astimezone(dt.UTC).replace(tzinfo=None), "us")),
                     pa.timestamp("us", tz="UTC"))  # fmt: skip
    names = np.asarray(columns["name"], dtype=object)[new_firsts]
    with bulksql.foreign_keys_checked_set_based(references):
        if count:
            result.changes.append(Change("customers.customer", None, True, ids=created.tolist()))
            unnamed = _("Unnamed customer")
            bulksql.copy_arrow(
                Customer,
                pa.table({
                    "id": pa.array(created, pa.int64()), "kind": pa.array([CustomerKind.CONSUMER.value] * count),
                    "party_type": pa.array([PartyType.PERSON.value] * count),
                    "name": pa.array(np.where(names == "", unnamed, names).tolist(), pa.string()),
                    "gender": pa.array([""] * count, pa.string()), "birthday": pa.nulls(count, pa.date32()),
                    "home_store_id": pa.array(store.tolist(), pa.int64()), "preferred_channel_id": pa.array(channel),
                    "source_system": pa.array([source_system] * count, pa.string()),
                    "source_id": pa.array([""] * count, pa.string()), "custom": pa.array(["{}"] * count),
                    "order_count": pa.array(np.zeros(count, np.int64)),
                    "total_spent": bulksql.cents_to_decimal(np.zeros(count, np.int64)),
                    "created_at": stamp, "updated_at": stamp,
                }),
            )  # fmt: skip
        _insert_identity_columns(keys, group_ids, matched, source_system, now, result)
        _insert_address_columns(columns, group_of, group_ids, matched, result)
        if index_names:
            _index_name_columns(created, names)
        bulksql.copy_arrow(
            Interaction,
            pa.table({
                "customer_id": pa.array(np.sort(created), pa.int64()),
                "kind": pa.array([InteractionKind.REGISTRATION.value] * count, pa.string()),
                "occurred_at": stamp, "title": pa.array([_("Customer record created")] * count, pa.string()),
                "detail": pa.array([""] * count, pa.string()), "ref_type": pa.array([ref_type] * count, pa.string()),
                "ref_id": pa.array([ref_id] * count, pa.int64()),
            }),
        )  # fmt: skip
    settled.update(group_ids.tolist())
    return result


def _insert_identity_columns(
    keys: Any, group_ids: Any, matched: Any, source_system: str, now: dt.datetime, result: UpsertResult
) -> None:
    """`_insert_identities` over the identity table of `do_bulk_upsert_buyers`: identities not
    stored yet go to their group's customer, the first of each kind primary for a new customer."""
    import numpy as np
    import pyarrow as pa

    fresh = keys[keys["stored"] < 0]
    if not len(fresh):
        return
    group = fresh["group"].to_numpy(dtype=np.int64)
    is_new = matched[group] < 0
    primary = is_new & ~fresh.duplicated(["group", "kind"]).to_numpy()
    cids = group_ids[group]
    kinds, values = fresh["kind"].to_numpy(dtype=object), fresh["value"].to_numpy(dtype=object)
    for cid, kind, value in zip(cids[~is_new].tolist(), kinds[~is_new].tolist(), values[~is_new].tolist(), strict=True):
        result.changes.append(
            Change("customers.customeridentity", None, True, {"customer": cid, "kind": kind, "value": value})
        )
    count = len(cids)
    bulksql.insert_arrow_ignore_conflicts(
        CustomerIdentity,
        pa.table({
            "customer_id": pa.array(cids, pa.int64()), "kind": pa.array(kinds, pa.string()),
            "value": pa.array(values, pa.string()), "is_primary": pa.array(primary, pa.bool_()),
            "verified": pa.array(np.zeros(count, dtype=bool)), "source_system": pa.array([source_system] * count),
            "created_at": pa.array(np.full(count, np.datetime64(now.astimezone(dt.UTC).replace(tzinfo=None), "us")),
                                   pa.timestamp("us", tz="UTC")),
        }),
        conflict=["kind", "value"],
    )  # fmt: skip


def _insert_address_columns(
    columns: dict[str, Any], group_of: Any, group_ids: Any, matched: Any, result: UpsertResult
) -> None:
    """`_insert_addresses` for the rows that carry an address (rows in group order)."""
    import numpy as np

    parts = [np.asarray(columns[f], dtype=object) for f in ("province", "city", "district", "detail")]
    has = np.zeros(len(group_of), dtype=bool)
    for part in parts:
        has |= part != ""
    rows = np.flatnonzero(has)
    if not len(rows):
        return
    rows = rows[np.lexsort((rows, group_of[rows]))]
    created = set(group_ids[matched < 0].tolist())
    wanted = [
        (cid, (p, c, d, t))
        for cid, p, c, d, t in zip(
            group_ids[group_of[rows]].tolist(), *(part[rows].tolist() for part in parts), strict=True
        )
    ]
    _add_missing_addresses(wanted, created, result)


def do_index_missing_names(customer_ids: Sequence[int]) -> int:
    """Name tokens for those of these customers that have none (new buyers of an import, whose
    tokens wait until their purchase figures are final; also buyers a killed import left
    without). Returns how many customers gained tokens. Call inside a transaction."""
    import numpy as np

    if not len(customer_ids):
        return 0
    rows = bulksql.fetch_any(
        f"SELECT c.id, c.name FROM {bulksql.table(Customer)} c WHERE c.id IN ({{in}}) AND NOT EXISTS "
        f"(SELECT 1 FROM {bulksql.table(SearchToken)} t WHERE t.customer_id = c.id) ORDER BY c.id",
        [int(i) for i in customer_ids],
    )
    if not rows:
        return 0
    ids = [cid for cid, _name in rows]
    # The customers were just read; the set-based check locks them against a concurrent delete.
    with bulksql.foreign_keys_checked_set_based({Customer: ids}):
        return _index_name_columns(np.array(ids, dtype=np.int64), [name for _cid, name in rows])


def _index_name_columns(customer_ids: Any, names: Any) -> int:
    """`_index_names` for new customers: each distinct name is tokenised once. Returns how many
    of them got tokens (a name of punctuation only has none)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    if not len(customer_ids):
        return 0
    codes, uniques = pd.factorize(np.asarray(names, dtype=object))
    tokens = [sorted(name_tokens(name)) for name in uniques.tolist()]
    per_name = np.array([len(t) for t in tokens], dtype=np.int64)
    repeat = per_name[codes]
    flat = np.array([t for ts in tokens for t in ts], dtype=object)
    start = np.concatenate([[0], np.cumsum(per_name)[:-1]])
    within = np.arange(int(repeat.sum())) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    picked = flat[np.repeat(start[codes], repeat) + within] if len(flat) else flat
    _copy_tokens(
        pa.table({"customer_id": pa.array(np.repeat(np.asarray(customer_ids, dtype=np.int64), repeat), pa.int64()),
                  "token": pa.array(picked.tolist(), pa.string())}),
    )  # fmt: skip
    return int(np.count_nonzero(repeat))


def _copy_tokens(data: Any) -> None:
    """Insert new name tokens (an Arrow table of customer_id, token). On PostgreSQL they are
    staged and inserted with their customer's spend joined in one statement, with the row
    trigger that would look each one up (≈ 14 µs a row in PL/pgSQL, half the cost of the
    insert) told to stand aside for that statement only (customers migration 0006; ADR 0005).
    On SQLite each row takes its customer's spend from a primary-key look-up in the INSERT,
    so the trigger, which rewrites only a token whose spend differs (customers migration 0008),
    has nothing to do."""
    from django.db import connection

    if not bulksql.is_postgres():
        if data.num_rows:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {bulksql.table(SearchToken)} (customer_id, token, spent) VALUES (%s, %s, "
                    f"COALESCE((SELECT c.total_spent FROM {bulksql.table(Customer)} c WHERE c.id = %s), 0))",
                    [(c, t, c) for c, t in zip(*bulksql.sqlite_columns(data, ["customer_id", "token"]), strict=True)],
                )
        return
    if not data.num_rows:
        return
    tokens, customers = bulksql.table(SearchToken), bulksql.table(Customer)
    staged = bulksql.stage_arrow(SearchToken, data)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL kehu.token_spent_joined = 'on'")
        # The same value the trigger gives: the customer's spend, 0 if there is no such customer
        # (the foreign key then refuses the row, as it would have).
        cursor.execute(
            f"INSERT INTO {tokens} (customer_id, token, spent) "
            "SELECT n.customer_id, n.token, COALESCE(c.total_spent, 0) "
            f"FROM {staged} n LEFT JOIN {customers} c ON c.id = n.customer_id"
        )
        # Reached only without an error; after one, the rollback restores the setting.
        cursor.execute("SET LOCAL kehu.token_spent_joined = 'off'")
        cursor.execute(f"DROP TABLE {staged}")
