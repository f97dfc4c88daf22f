"""The demo-data generator: a realistic Chinese omnichannel fashion retailer, from a thousand to a
million customers, loaded with bulk SQL. Same seed, same `now`, same chunk size → same data."""

from __future__ import annotations

import datetime as dt
import queue
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import DO_NOTHING, SET_NULL, Max, Model
from django.utils import timezone, translation

from kehu.commerce.models import Order, Return, Shipment, ShipmentEvent
from kehu.customers.models import Customer, CustomerIdentity, Household, IdentityKind
from kehu.demo.bulk import BulkWriter
from kehu.demo.reference import attach_staff, ensure_demo_staff, ensure_reference_data
from kehu.demo.seasons import Calendar
from kehu.demo.simulate import SOURCE, ChunkSimulation, Cursor, Scramble, Settings, Table

__all__ = ["DemoDataExists", "GenerationResult", "delete_demo_data", "ensure_demo_staff", "generate"]

DAY = 86_400
# Models whose ids the generator allocates itself (children reference them without round trips).
ALLOCATED: list[type[Model]] = [Customer, Household, Order, Shipment, Return]


class DemoDataExists(Exception):
    """The database already holds demo orders and the caller did not ask to replace them."""


@dataclass
class GenerationResult:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    elapsed: float = 0.0
    deleted: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def generate(
    customers: int = 2000,
    seed: int = 1,
    *,
    reset: bool = False,
    now: dt.datetime | None = None,
    years: float = 3.0,
    tracking_months: int = 6,
    chunk_size: int = 50_000,
    progress: bool = False,
    rebuild_indexes: bool | None = None,
) -> GenerationResult:
    """Generate `customers` demo customers with ~3 years of orders ending at `now` (default: the
    start of the current hour) into the default database.

    Refuses with `DemoDataExists` if demo orders exist, unless `reset` deletes them first.
    Shipment tracking events are generated for parcels sent in the last `tracking_months`
    (older parcels keep their shipment row); they are the largest table otherwise.

    On PostgreSQL, `rebuild_indexes` (default: from 100,000 customers on) loads everything in one
    transaction with the tables' secondary indexes dropped and rebuilt at the end, and, unless a
    superuser loads with the foreign-key triggers off, their foreign keys dropped and re-added
    (validated in one query each); the tables, and those they reference, are locked for the
    duration, so use it for initial loads, not next to live traffic."""
    if customers < 0:
        raise ValueError("customers must not be negative")
    started = time.perf_counter()
    result = GenerationResult()
    if Order.objects.filter(source_system=SOURCE).exists():
        if not reset:
            raise DemoDataExists("The database already contains demo data.")
        deleting = time.perf_counter()
        result.deleted = delete_demo_data()
        result.seconds["(reset)"] = time.perf_counter() - deleting
    now = now or timezone.now().replace(minute=0, second=0, microsecond=0)
    now_s = int(now.timestamp())
    start_s = now_s - int(years * 365.25 * DAY)
    local = dt.timezone(dt.timedelta(hours=8))
    calendar = Calendar(
        dt.datetime.fromtimestamp(start_s, local).date() - dt.timedelta(days=1),
        dt.datetime.fromtimestamp(now_s, local).date() + dt.timedelta(days=1),
    )
    reference = ensure_reference_data()
    attach_staff(reference)
    run_rng = np.random.default_rng([seed, 0])
    settings = Settings(
        now=now_s,
        start=start_s,
        tracking_since=now_s - int(tracking_months * 30.44 * DAY),
        calendar=calendar,
        reference=reference,
        phone_scramble=Scramble(run_rng, 10**8),
        card_scramble=Scramble(run_rng, 10**10),
        email_scramble=Scramble(run_rng, 10**8),
        tracking_scramble=Scramble(run_rng, 10**12),
        openid_scramble=Scramble(run_rng, 64**6),
        taken=_taken_identities(),
    )
    cursor = Cursor(**{f"{m._meta.model_name}_id": _next_id(m) for m in ALLOCATED})
    writer = BulkWriter()
    if rebuild_indexes is None:
        rebuild_indexes = customers >= 100_000
    writer.skip_foreign_key_checks(_loaded_models())
    bar = _progress_bar(customers, progress)
    try:
        with _sqlite_fast_load(), writer.indexes_rebuilt(_loaded_models(), rebuild_indexes):
            for tables, n in _simulated_chunks(settings, cursor, customers, chunk_size, seed, writer.seconds):
                with writer.chunk():
                    for model, columns in tables:
                        writer.write(model, columns)
                    if connection.vendor == "sqlite":
                        _reconcile_sqlite_totals(tables)
                bar.update(n)
        writer.reset_sequences(ALLOCATED)
        analyzed = time.perf_counter()
        writer.analyze(_loaded_models())
        writer.seconds["(analyze)"] = time.perf_counter() - analyzed
    finally:
        bar.close()
    result.rows = dict(writer.rows)
    result.seconds.update(writer.seconds)
    result.elapsed = time.perf_counter() - started
    return result


def _simulated_chunks(
    settings: Settings, cursor: Cursor, customers: int, chunk_size: int, seed: int, seconds: dict[str, float]
) -> Iterator[tuple[list[Table], int]]:
    """Simulate chunk k+1 in a thread while chunk k is being written: NumPy and the database
    server then keep both cores busy. Chunks come out in order, so the data stays deterministic."""
    sizes = [min(chunk_size, customers - start) for start in range(0, customers, chunk_size)]
    results: queue.Queue[tuple[list[Table], int] | BaseException | None] = queue.Queue(maxsize=1)

    # Timeline titles are written in the caller's language, not the thread's default.
    language = translation.get_language()

    def produce() -> None:
        try:
            with translation.override(language):
                _produce()
            results.put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            results.put(exc)

    def _produce() -> None:
        for number, n in enumerate(sizes):
            tables = ChunkSimulation(settings, _snapshot(cursor), n, np.random.default_rng([seed, 1, number])).run()
            _advance(cursor, tables, n)
            results.put((tables, n))

    thread = threading.Thread(target=produce, name="demo-simulation", daemon=True)
    thread.start()
    while True:
        waiting = time.perf_counter()
        item = results.get()
        seconds["(waiting for simulation)"] += time.perf_counter() - waiting
        if item is None:
            break
        if isinstance(item, BaseException):
            raise item
        yield item
    thread.join()


def _reconcile_sqlite_totals(tables: list[Table]) -> None:
    """SQLite keeps decimals as REAL, and its SUM of a customer's order amounts can differ from the
    exact total in the last bit; store what the core's own query computes, so the cached figures
    and `purchase_stats_drift()` agree exactly (PostgreSQL's numeric needs no such step)."""
    from kehu.customers.actions import purchase_stats_query

    ids = next(columns["id"] for model, columns in tables if model is Customer)
    if len(ids):
        first, last = ids[0].as_py(), ids[len(ids) - 1].as_py()
        Customer.objects.filter(id__gte=first, id__lte=last).update(total_spent=purchase_stats_query()["total_spent"])


def _snapshot(cursor: Cursor) -> Cursor:
    return Cursor(**vars(cursor))


def _advance(cursor: Cursor, tables: list[Table], n: int) -> None:
    counts = {model: len(next(iter(columns.values()))) for model, columns in tables}
    cursor.customers += n
    cursor.customer_id += n
    cursor.orders += counts[Order]
    cursor.order_id += counts[Order]
    cursor.shipments += counts[Shipment]
    cursor.shipment_id += counts[Shipment]
    cursor.returns += counts[Return]
    cursor.return_id += counts[Return]
    cursor.households += counts[Household]
    cursor.household_id += counts[Household]


def _loaded_models() -> list[type[Model]]:
    from kehu.commerce.models import OrderLine
    from kehu.customers.models import Address, Interaction, SearchToken
    from kehu.privacy.models import Consent, ConsentEvent

    return [
        Customer,
        Household,
        CustomerIdentity,
        Address,
        SearchToken,
        Interaction,
        Consent,
        ConsentEvent,
        Order,
        OrderLine,
        Return,
        Shipment,
        ShipmentEvent,
        Customer.tags.through,
    ]


def _next_id(model: type[Model]) -> int:
    return int(model.objects.aggregate(m=Max("id"))["m"] or 0) + 1


def _taken_identities() -> dict[str, set[str]]:
    """Identity values already used by non-demo customers, which the demo must not reuse."""
    kinds = [
        IdentityKind.PHONE,
        IdentityKind.EMAIL,
        IdentityKind.MEMBER_CARD,
        IdentityKind.WECHAT_OPENID,
        IdentityKind.POS_ID,
    ]
    taken: dict[str, set[str]] = {}
    for kind, value in CustomerIdentity.objects.filter(kind__in=kinds).values_list("kind", "value").iterator():
        taken.setdefault(kind, set()).add(value)
    return taken


class _sqlite_fast_load:
    """On SQLite, skip fsyncs during the load (a crash can only lose demo data)."""

    def __enter__(self) -> None:
        self.sqlite = connection.vendor == "sqlite" and not connection.in_atomic_block
        if self.sqlite:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=OFF")

    def __exit__(self, *exc: object) -> None:
        if self.sqlite:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=NORMAL")


def _progress_bar(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="customers", file=sys.stderr, disable=not enabled, unit_scale=True)


def delete_demo_data() -> int:
    """Delete every demo customer and demo order with everything that hangs off them (in any app),
    with set-based SQL instead of loading millions of rows into the ORM's collector. Households
    left without members are deleted too. Returns the number of rows deleted."""
    customers_sql = f"SELECT id FROM {_q(Customer)} WHERE source_system = %s"
    orders_sql = f"SELECT id FROM {_q(Order)} WHERE source_system = %s OR customer_id IN ({customers_sql})"
    deleted = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT household_id FROM {_q(Customer)} WHERE source_system = %s AND household_id IS NOT NULL",
            [SOURCE],
        )
        households = [row[0] for row in cursor.fetchall()]
        deleted += _delete_tree(cursor, Order, orders_sql, [SOURCE, SOURCE])
        deleted += _delete_tree(cursor, Customer, customers_sql, [SOURCE])
        for start in range(0, len(households), 500):
            batch = households[start : start + 500]
            marks = ", ".join(["%s"] * len(batch))
            cursor.execute(
                f"DELETE FROM {_q(Household)} WHERE id IN ({marks}) AND NOT EXISTS "
                f"(SELECT 1 FROM {_q(Customer)} c WHERE c.household_id = {_q(Household)}.id)",
                batch,
            )
            deleted += cursor.rowcount
    return deleted


def _delete_tree(
    cursor: Any, model: type[Model], ids_sql: str, params: list[Any], path: tuple[type[Model], ...] = ()
) -> int:
    """Delete the rows of `model` whose ids `ids_sql` selects, after the rows referring to them:
    SET_NULL references are cleared, all others (CASCADE, PROTECT…) deleted, recursively. A
    reference back into the path being deleted (such as a customer merged into another) is cleared."""
    deleted = 0
    path = (*path, model)
    for fk in _references_to(model):
        child: type[Model] = fk.model
        where = f"{connection.ops.quote_name(fk.column)} IN ({ids_sql})"
        if child in path:
            if fk.null:
                cursor.execute(
                    f"UPDATE {_q(child)} SET {connection.ops.quote_name(fk.column)} = NULL WHERE {where}", params
                )
            continue
        if fk.remote_field.on_delete is SET_NULL:
            cursor.execute(
                f"UPDATE {_q(child)} SET {connection.ops.quote_name(fk.column)} = NULL WHERE {where}", params
            )
        elif _references_to(child):
            deleted += _delete_tree(cursor, child, f"SELECT id FROM {_q(child)} WHERE {where}", params, path)
        else:
            cursor.execute(f"DELETE FROM {_q(child)} WHERE {where}", params)
            deleted += cursor.rowcount
    cursor.execute(f"DELETE FROM {_q(model)} WHERE id IN ({ids_sql})", params)
    return deleted + cursor.rowcount


def _references_to(model: type[Model]) -> list[Any]:
    """The foreign keys (of any app) pointing at `model` that the database enforces."""
    return [
        relation.field
        for relation in model._meta.get_fields(include_hidden=True)
        if relation.auto_created
        and not relation.concrete
        and (relation.one_to_many or relation.one_to_one)
        and relation.field.remote_field.on_delete is not DO_NOTHING  # type: ignore[union-attr]
    ]


def _q(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)
