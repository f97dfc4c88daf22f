"""Validation one chunk ahead: importers that validate offline have the next chunk read and
checked in a worker thread while the current one is written. The results must be those of the
one-thread run, custom-field values must stay with their chunk, and an error, a cancel or the
language of the run must behave as without the thread."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import transaction
from django.utils import translation

from kehu.commerce.models import Order
from kehu.customers.models import Customer
from kehu.customfields.imports import PREFIX, WithCustomValues
from kehu.imports import actions
from kehu.imports.actions import check_create_job, do_request_cancel, do_run_import
from kehu.imports.importers import CustomerImporter, OrderImporter
from kehu.imports.models import JobStatus
from kehu.imports.registry import MappedRow, get_importer
from tests.customfields.conftest import define
from tests.imports.conftest import run, write_csv
from tests.imports.test_import_speed_paths import messy_rows, state
from tests.imports.test_order_import import HEADER, order_rows

WORKER = "kehu-import-validate"


class _Undo(Exception):
    pass


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WORKER]


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["skip", "atomic"])
def test_validation_ahead_writes_what_the_one_thread_run_writes(ref, files, monkeypatch, mode):
    rows = order_rows(12) if mode == "atomic" else messy_rows()  # atomic: a clean file, so it writes
    path = write_csv(files / "o.csv", rows)
    seen: dict[str, set[str]] = {"validate": set(), "write": set()}
    validate, write = OrderImporter.validate_columns, OrderImporter.write

    def spy_validate(self: Any, chunk: Any) -> Any:
        seen["validate"].add(threading.current_thread().name)
        return validate(self, chunk)

    def spy_write(self: Any, records: Any) -> Any:
        seen["write"].add(threading.current_thread().name)
        return write(self, records)

    monkeypatch.setattr(OrderImporter, "validate_columns", spy_validate)
    monkeypatch.setattr(OrderImporter, "write", spy_write)
    results = []
    for ahead in (True, False):
        monkeypatch.setattr(OrderImporter, "validates_offline", ahead)
        try:
            with transaction.atomic():
                job = run("orders", path, source="shop", mode=mode, chunk_rows=3)
                results.append((job.summary(), job.error_report, state()))
                raise _Undo
        except _Undo:
            pass
    assert results[0] == results[1]
    assert results[0][0]["created"] > 0
    assert seen == {"validate": {WORKER, threading.current_thread().name}, "write": {threading.current_thread().name}}
    assert not _workers()


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-8", "gbk"], ids=["column-batches", "rows"])
def test_custom_values_stay_with_their_chunk_when_the_next_is_validated_first(db, files, encoding):
    define(key="shoe_size", type="number", label_zh="鞋码", label_en="Shoe size")
    rows = [["姓名", "手机", "鞋码"]] + [[f"客{i}", f"1380013{i:04d}", str(30 + i)] for i in range(9)]
    job = run("customers", write_csv(files / "c.csv", rows, encoding=encoding), chunk_rows=1)
    assert job.summary() == {"created": 9, "updated": 0, "unchanged": 0, "errors": 0}
    assert dict(Customer.objects.values_list("name", "custom")) == {f"客{i}": {"shoe_size": 30 + i} for i in range(9)}


@pytest.mark.django_db
def test_validation_hands_custom_values_over_in_its_records(files):
    define(key="shoe_size", type="number", label_zh="鞋码", label_en="Shoe size")
    importer_class = get_importer("customers")
    assert issubclass(importer_class, CustomerImporter) and importer_class.validates_offline
    job = check_create_job(None, "customers", write_csv(files / "c.csv", [["姓名", "手机", "鞋码"]]))
    columns = {"name": "姓名", "phone": "手机", f"{PREFIX}shoe_size": "鞋码"}
    importer = importer_class(source="import", job=job, columns=columns)
    cells = {"name": "甲", "phone": "13800138000", f"{PREFIX}shoe_size": "41"}
    records, errors = importer.validate([MappedRow(2, cells)])
    assert errors == []
    assert isinstance(records, WithCustomValues) and len(records) == 1 and records[0].name == "甲"
    assert records.values == {2: {"shoe_size": 41}}
    assert "custom_pending" not in vars(importer)


@pytest.mark.django_db
def test_an_error_in_validation_fails_the_job_and_stops_the_worker(ref, files, monkeypatch):
    path = write_csv(files / "o.csv", messy_rows())
    validate = OrderImporter.validate_columns
    calls = []

    def failing(self: Any, chunk: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("validation broke")
        return validate(self, chunk)

    monkeypatch.setattr(OrderImporter, "validate_columns", failing)
    job = check_create_job(None, "orders", path, source="shop")
    with pytest.raises(RuntimeError, match="validation broke"):
        do_run_import(job, chunk_rows=3)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "validation broke" in job.message
    assert job.rows_processed > 0  # the first chunk was written (skip mode)
    assert not _workers()


@pytest.mark.django_db
def test_a_cancel_stops_reading_ahead(ref, files, monkeypatch):
    path = write_csv(files / "o.csv", messy_rows())
    write = OrderImporter.write

    def cancel_after_first(self: Any, records: Any) -> Any:
        result = write(self, records)
        do_request_cancel(self.job)
        return result

    monkeypatch.setattr(OrderImporter, "write", cancel_after_first)
    job = check_create_job(None, "orders", path, source="shop")
    job = do_run_import(job, chunk_rows=3)
    assert job.status == JobStatus.CANCELLED
    # Only the first chunk (an order is never split, so two lines here) was taken in.
    assert 0 < job.rows_processed < len(messy_rows()) - 1
    assert Order.objects.count() == job.created == 1
    assert not _workers()


@pytest.mark.django_db
def test_the_worker_reports_errors_in_the_language_of_the_run(ref, files):
    path = write_csv(files / "o.csv", [HEADER, ["X1", "2025-11-11", "无此渠道", "", "甲", "13800138000",
                                                 "M-SHIRT-01", "1", "10", ""]])  # fmt: skip
    with translation.override("zh-hans"):
        job = run("orders", path, source="shop")
    assert "未知的渠道“无此渠道”。" in job.error_report


def test_ahead_yields_everything_in_order_and_passes_exceptions_on():
    assert list(actions._ahead(iter(range(50)))) == list(range(50))

    def broken() -> Any:
        yield 1
        raise ValueError("third")

    got = []
    with pytest.raises(ValueError, match="third"):
        for item in actions._ahead(broken()):
            got.append(item)
    assert got == [1]
    assert not _workers()
