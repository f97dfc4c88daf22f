"""The importer registry and the contract an importer implements.

An importer declares its fields (with the Chinese and English headers that map to them) and
turns a chunk of mapped rows into counts: `validate` parses rows into its own records and row
errors, `write` stores the records set-based. Apps add importers with
`register_importer("tickets", TicketImporter)`, typically in their `AppConfig.ready`."""

from __future__ import annotations

import abc
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext as _

from kehu.imports.readers import UnusableInput

if TYPE_CHECKING:
    from kehu.customers.bulk_upsert import Change
    from kehu.imports.columns import ColumnChunk
    from kehu.imports.models import ImportJob


@dataclass(frozen=True)
class Field:
    name: str
    synonyms: tuple[str, ...] = ()
    required: bool = False


@dataclass
class RowError:
    row: int
    column: str
    code: str
    message: str


@dataclass
class MappedRow:
    """One data row: its number in the file and its cells by field name (mapped fields only)."""

    number: int
    cells: dict[str, str]


# History label of a JSON `custom` column an import changed: "custom:<app.model>", previous
# value {"custom": {...}}; `revert_import` restores it (kehu.customfields writes these).
CUSTOM_VALUES_PREFIX = "custom:"


@dataclass
class ChunkResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


class Importer(abc.ABC):
    """Base class. Subclasses set `kind`, `fields` and optionally `group_field` (rows sharing
    that field's value form one record, e.g. the lines of one order, and are never split across
    chunks), and implement `validate` and `write`. One instance serves one import run, so it may
    keep file-wide state (`settled` customers, groups already seen)."""

    kind: ClassVar[str] = ""
    fields: ClassVar[tuple[Field, ...]] = ()
    group_field: ClassVar[str | None] = None
    # Importers on a hot path set this and implement `validate_columns`, which receives whole
    # columns instead of one object per row (ADR 0201); others get rows from the same reader.
    columnar: ClassVar[bool] = False
    # True when `validate` touches no database and hands everything `write` needs over in its
    # records (nothing through the instance): the run then validates the next chunk in a worker
    # thread while this one is written. An importer whose validation looks rows up leaves it off.
    validates_offline: ClassVar[bool] = False

    def __init__(self, *, source: str, job: ImportJob, columns: dict[str, str]) -> None:
        self.source = source
        self.job = job
        self.columns = columns  # field name → the file's header text, for error reports
        self.settled: set[int] = set()

    def error(self, row: MappedRow, field_name: str, code: str, message: str) -> RowError:
        return RowError(row.number, self.columns.get(field_name, field_name), code, message)

    @abc.abstractmethod
    def validate(self, rows: Sequence[MappedRow]) -> tuple[list[Any], list[RowError]]:
        """Check and clean a chunk of rows: the records to write, and the errors."""

    def validate_columns(self, chunk: ColumnChunk) -> tuple[Any, list[RowError]]:
        """The column path; only importers that set `columnar` are given columns."""
        raise TypeError(f"{type(self).__name__} reads rows, not columns (it does not set `columnar`)")

    @abc.abstractmethod
    def write(self, records: Any) -> ChunkResult:
        """Write validated records in bulk and say what was created, updated or unchanged."""

    def finish(self) -> None:
        """Called once after the last chunk was written (also after a cancel), in the same
        transaction as an atomic run and in its own in skip mode: set-based work deferred to
        the end of the import, e.g. buyers' purchase figures. Must be idempotent."""
        return None


_REGISTRY: dict[str, type[Importer]] = {}
# Extensions adapt an importer class each time an import needs one (e.g. custom fields add
# their columns); each takes (kind, class) and returns the class to use.
_EXTENSIONS: list[Callable[[str, type[Importer]], type[Importer]]] = []


def register_importer(kind: str, importer: type[Importer]) -> None:
    _REGISTRY[kind] = importer


def register_importer_extension(extension: Callable[[str, type[Importer]], type[Importer]]) -> None:
    if extension not in _EXTENSIONS:
        _EXTENSIONS.append(extension)


def _load_builtins() -> None:
    """Register customers, orders, products and stores (once, when an import first needs them)."""
    from kehu.imports.importers import register_builtin_importers

    if not {"customers", "orders", "products", "stores"} <= set(_REGISTRY):
        register_builtin_importers()


def get_importer(kind: str) -> type[Importer]:
    _load_builtins()
    try:
        importer = _REGISTRY[kind]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnusableInput(
            _("Unknown import kind %(kind)s (known: %(known)s).") % {"kind": kind, "known": known}
        ) from None
    for extend in _EXTENSIONS:
        importer = extend(kind, importer)
    return importer


def importer_kinds() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


_HEADER_NOISE = re.compile(r"[\s_\-*:：()（）\[\]【】/.]+|必填|选填")


def header_key(text: str) -> str:
    """The form headers are compared in: NFKC, case-folded, without spaces, punctuation or
    "必填" markers, so `手机号码（必填）`, `Mobile_Phone` and `mobile phone` all compare plainly."""
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", text).casefold())


def resolve_mapping(header: Sequence[str], importer: type[Importer], explicit: dict[str, str] | None) -> dict[str, int]:
    """Field name → column index. An explicit mapping (`{"file column": "field"}`, a field of ""
    or null ignores the column) wins; other columns match a field's name or synonyms. Unknown
    columns are ignored; a missing required field makes the file unusable."""
    fields = {f.name: f for f in importer.fields}
    mapping: dict[str, int] = {}
    explicit = explicit or {}
    explicit_keys = {header_key(k): v for k, v in explicit.items()}
    for column, target in explicit.items():
        if target and target not in fields:
            raise UnusableInput(_("The mapping names an unknown field %(field)s.") % {"field": target})
        if header_key(column) not in {header_key(h) for h in header}:
            raise UnusableInput(_("The mapping names a column %(column)s the file does not have.") % {"column": column})
    lookup: dict[str, str] = {}
    for f in importer.fields:
        for synonym in (f.name, *f.synonyms):
            lookup.setdefault(header_key(synonym), f.name)
    for index, text in enumerate(header):
        key = header_key(text)
        target = explicit_keys[key] if key in explicit_keys else lookup.get(key, "")
        if target and target not in mapping:
            mapping[target] = index
    missing = [f.name for f in importer.fields if f.required and f.name not in mapping]
    if missing:
        raise UnusableInput(
            _("The file has no column for %(fields)s; name the column or give a mapping.")
            % {"fields": ", ".join(missing)}
        )
    return mapping
