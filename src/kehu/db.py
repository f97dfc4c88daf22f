"""Several small reads of model rows in one database round trip.

A page such as the customer 360 reads a dozen short lists that all hang off one record
(identities, addresses, consents, notes, the timeline, scores, …). Through the ORM each is a
query to build and compile and a round trip of its own; measured at 1M customers on PostgreSQL,
building and compiling the SQL cost more CPU than PostgreSQL spent answering it. `read_many`
writes each read's SQL straight from the model's metadata and, on PostgreSQL, sends them all as
one multi-statement query (psycopg's client-side binding, which Django uses), reading the result
sets in turn; SQLite, in-process, runs them one after the other. Rows become model instances
through `Model.from_db` with the same database converters the ORM applies, so templates and
presenters use them exactly as they would the ORM's.

A read that is role-scoped (a store manager's orders) takes its scope from the app that owns the
rule, as SQL next to the `visible_*` queryset that applies the same rule (e.g.
`commerce.queries.order_scope_sql`), and a test holds the two to the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model


@dataclass(frozen=True)
class Rows:
    """Rows of `model` (aliased `t`) that satisfy `where`, as model instances.

    `join` names forward foreign keys fetched along (a LEFT JOIN each, cached on the instances as
    `select_related` would), each a name or a (name, field names) pair to read only those fields
    of the related row (the others are deferred, as with `only`); `through` adds a join for
    many-to-many reads; `count=True` returns the number of matching rows instead."""

    model: type[Model]
    where: str
    params: Sequence[Any] = ()
    order_by: str = ""
    limit: int | None = None
    join: tuple[str | tuple[str, tuple[str, ...]], ...] = ()
    through: str = ""
    count: bool = False


@dataclass(frozen=True)
class Values:
    """The rows of a hand-written query (an aggregate, say) as dicts, like `QuerySet.values()`.

    `columns` names the selected columns in order, each with the model field whose database
    converters apply to it (None for none: counts, plain text), so that e.g. a SUM of a money
    column comes back as a `Decimal` on SQLite as it would from the ORM."""

    sql: str
    params: Sequence[Any] = ()
    columns: tuple[tuple[str, Field | None], ...] = ()


Read = Rows | Values


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


# The converters as (column index, column expression, functions), for the columns that have any.
_Conversion = tuple[int, Any, list[Callable[..., Any]]]


@dataclass(frozen=True)
class _Part:
    """One model's columns in a read's rows: the main model's, or a joined foreign key's."""

    model: type[Model]
    attnames: list[str]
    converters: list[_Conversion]
    start: int
    stop: int
    pk_index: int
    holder: Field | None  # the foreign key of the main model that holds it


@dataclass(frozen=True)
class _Plan:
    select: str
    from_: str
    parts: tuple[_Part, ...]


def _converters(fields: Sequence[Field | None], alias: str) -> list[_Conversion]:
    """What the ORM's compiler applies to each column read (SQLite's dates, decimals, JSON…);
    a None field is a column without any."""
    result = []
    for index, model_field in enumerate(fields):
        if model_field is None:
            continue
        expression = model_field.get_col(alias)
        chain = [*connection.ops.get_db_converters(expression), *model_field.get_db_converters(connection)]
        if chain:
            result.append((index, expression, chain))
    return result


@cache
def _plan(vendor: str, model: type[Model], join: tuple[str | tuple[str, tuple[str, ...]], ...]) -> _Plan:
    del vendor  # part of the cache key: quoting and converters depend on the backend
    columns: list[str] = []
    parts = []
    tables = [f"{_qn(model._meta.db_table)} t"]
    steps: list[tuple[str, Any, Field | None, tuple[str, ...] | None]] = [("t", model, None, None)]
    for i, spec in enumerate(join):
        name, only = (spec, None) if isinstance(spec, str) else spec
        holder = model._meta.get_field(name)
        steps.append((f"j{i}", holder.related_model, holder, only))  # type: ignore[arg-type]
    for alias, part_model, holder, only in steps:
        fields = [f for f in part_model._meta.concrete_fields if only is None or f.primary_key or f.name in only]
        start = len(columns)
        columns += [f"{alias}.{_qn(f.column)}" for f in fields]
        pk_index = next(i for i, f in enumerate(fields) if f.primary_key)
        attnames = [f.attname for f in fields]
        parts.append(_Part(part_model, attnames, _converters(fields, alias), start, len(columns), pk_index, holder))
        if holder is not None:
            target = part_model._meta.pk
            assert target is not None
            column = holder.column  # type: ignore[attr-defined]
            tables.append(
                f"LEFT JOIN {_qn(part_model._meta.db_table)} {alias} ON {alias}.{_qn(target.column)} = t.{_qn(column)}"
            )
    return _Plan(", ".join(columns), " ".join(tables), tuple(parts))


@dataclass(frozen=True)
class _ValuesPlan:
    names: tuple[str, ...]
    converters: list[_Conversion]


def _sql(read: Read) -> tuple[str, _Plan | _ValuesPlan | None]:
    if isinstance(read, Values):
        names = tuple(name for name, _field in read.columns)
        return read.sql, _ValuesPlan(names, _converters([f for _name, f in read.columns], "v"))
    plan = _plan(connection.vendor, read.model, read.join)
    through = f" {read.through}" if read.through else ""
    if read.count:
        return f"SELECT COUNT(*) FROM {_qn(read.model._meta.db_table)} t{through} WHERE {read.where}", None
    sql = f"SELECT {plan.select} FROM {plan.from_}{through} WHERE {read.where}"
    if read.order_by:
        sql += f" ORDER BY {read.order_by}"
    if read.limit is not None:
        sql += f" LIMIT {int(read.limit)}"
    return sql, plan


def _instances(plan: _Plan, rows: list[tuple[Any, ...]]) -> list[Model]:
    alias = connection.alias
    result = []
    for row in rows:
        main: Model | None = None
        for part in plan.parts:
            values = list(row[part.start : part.stop])
            for i, expression, chain in part.converters:
                for convert in chain:
                    values[i] = convert(values[i], expression, connection)
            instance = part.model.from_db(alias, part.attnames, values) if values[part.pk_index] is not None else None
            if part.holder is None:
                main = instance
            else:
                part.holder.set_cached_value(main, instance)  # type: ignore[attr-defined]
        assert main is not None
        result.append(main)
    return result


def read_many(reads: Sequence[Read]) -> list[Any]:
    """Run the reads, in one round trip on PostgreSQL; per read a list of instances (or a count),
    or for `Values` a list of dicts."""
    statements = [_sql(read) for read in reads]
    results: list[Any] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(reads) > 1:
            cursor.execute(";\n".join(sql for sql, _ in statements), [p for read in reads for p in read.params])
            for index, (_sql_text, plan) in enumerate(statements):
                if index:
                    cursor.nextset()
                results.append(_result(plan, cursor.fetchall()))
            return results
        for read, (sql, plan) in zip(reads, statements, strict=True):
            cursor.execute(sql, list(read.params))
            results.append(_result(plan, cursor.fetchall()))
    return results


def _result(plan: _Plan | _ValuesPlan | None, rows: list[tuple[Any, ...]]) -> Any:
    """A count (no plan), the rows as instances, or (`Values`) as dicts."""
    if plan is None:
        return rows[0][0]
    if isinstance(plan, _ValuesPlan):
        return _dicts(plan, rows)
    return _instances(plan, rows)


def _dicts(plan: _ValuesPlan, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    result = []
    for row in rows:
        values = list(row)
        for i, expression, chain in plan.converters:
            for convert in chain:
                values[i] = convert(values[i], expression, connection)
        result.append(dict(zip(plan.names, values, strict=True)))
    return result
