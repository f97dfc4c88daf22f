"""The lists that can be exported. Each list says how to read its rows for a user (scoped and
filtered exactly like its page), its columns with translatable headers, and how one record
becomes one row. Apps register their own lists with `register(...)` in `AppConfig.ready`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from kehu.accounts.models import User


@dataclass(frozen=True)
class Column:
    key: str
    header: StrOrPromise


@dataclass(frozen=True)
class ExportList:
    key: str
    title: StrOrPromise
    # The capability needed to see the list at all (EXPORT is needed as well).
    capability: str
    columns: tuple[Column, ...]
    # (user, filters) → the role-scoped, filtered, ordered queryset the page itself would show.
    queryset: Callable[[User, QueryDict], QuerySet[Any]]
    # (a batch of records from `queryset` reshaped by `fetch`, unmasked) → one row per record, one
    # value per column, personal data masked unless `unmasked`. Batches let a list fetch related
    # data (identities) once per thousand rows instead of building a model per value.
    rows_of: Callable[[list[Any], bool], list[list[Any]]]
    # filters → the filters actually applied (cleaned), recorded in the audit log.
    describe_filters: Callable[[User, QueryDict], dict[str, Any]]
    # Whether the list holds personal data that an unmasking role may ask to see in full.
    has_personal_data: bool = True
    # queryset → what to iterate (e.g. `.values_list(...)` of the columns needed); identity if unset.
    fetch: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None
    # Where the list's page lives (URL name), for "back" links.
    page_url_name: str = ""
    chunk_size: int = 2000
    # Headers of columns known only at export time (e.g. admin-defined custom fields), after
    # `columns`; `rows_of` appends their values in the same order.
    extra_headers: Callable[[], list[str]] | None = None

    def headers(self) -> list[str]:
        extra = self.extra_headers() if self.extra_headers else []
        return [*(str(c.header) for c in self.columns), *extra]

    def rows(self, queryset: QuerySet[Any], *, unmasked: bool) -> Iterator[list[Any]]:
        """Every row, streamed: the database cursor is read in chunks, never all at once."""
        fetched = self.fetch(queryset) if self.fetch else queryset
        records: Iterable[Any] = fetched.iterator(chunk_size=self.chunk_size)
        while batch := list(islice(records, self.chunk_size)):
            yield from self.rows_of(batch, unmasked)


_LISTS: dict[str, ExportList] = {}


def register(export_list: ExportList) -> ExportList:
    """Add a list (idempotent: registering the same key again replaces it)."""
    _LISTS[export_list.key] = export_list
    return export_list


def get_list(key: str) -> ExportList:
    try:
        return _LISTS[key]
    except KeyError:
        raise Http404(_("No such export.")) from None


def all_lists() -> list[ExportList]:
    return list(_LISTS.values())
