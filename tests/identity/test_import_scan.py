"""Scenario 1: after a customer import, uncertain duplicates are looked for in the background and
wait in the review queue; deterministic matches were already merged by the import itself."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from kehu.customers.models import Customer
from kehu.identity.actions import do_run_scan
from kehu.identity.models import DuplicateScan, DuplicateSuggestion
from tests.factories import make_customer
from tests.imports.conftest import run, write_csv

HEADER = ["会员编号", "姓名", "手机号", "生日"]


@pytest.mark.django_db
def test_a_customer_import_queues_a_scan_that_finds_uncertain_pairs(tmp_path: Path, ref: dict[str, Any]) -> None:
    web = make_customer("张伟", phone="13800138000", birthday=dt.date(1990, 5, 1))
    rows = [
        HEADER,
        ["P1", "张伟", "+86 138-0013-8000", "1990-05-01"],  # same phone: matched to the web customer
        ["P2", "张玮", "13900139000", "1990-05-01"],  # look-alike with the same birthday: uncertain
    ]
    job = run("customers", write_csv(tmp_path / "pos.csv", rows), source="pos")
    assert job.summary()["created"] == 1
    scan = DuplicateScan.objects.get()

    do_run_scan(scan)

    lookalike = Customer.objects.get(source_system="pos", source_id="P2")
    pairs = set(DuplicateSuggestion.objects.values_list("customer_a_id", "customer_b_id"))
    assert pairs == {tuple(sorted((web.pk, lookalike.pk)))}


@pytest.mark.django_db
def test_dry_runs_and_imports_that_create_no_customer_queue_nothing(tmp_path: Path, ref: dict[str, Any]) -> None:
    path = write_csv(tmp_path / "c.csv", [HEADER, ["P1", "李娜", "13700137000", ""]])
    run("customers", path, source="pos", dry_run=True)
    assert not DuplicateScan.objects.exists()
    run("customers", path, source="pos")
    DuplicateScan.objects.all().delete()
    run("customers", path, source="pos")  # the same file again: nothing created
    assert not DuplicateScan.objects.exists()
