from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from kehu.customers.models import Customer
from kehu.imports.models import ImportJob, SavedMapping
from tests.imports.conftest import write_csv


def kehu_import(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_it_prints_the_json_summary_as_the_last_stdout_line_and_writes_the_report(files):
    path = write_csv(files / "c.csv", [["name", "phone"], ["A", "13800138000"], ["B", "bad"], ["C", "13900139000"]])
    out, _err = kehu_import("customers", str(path), "--report", str(files / "errors.csv"), "--source", "crm")
    assert json.loads(out.strip().splitlines()[-1]) == {"created": 2, "updated": 0, "unchanged": 0, "errors": 1}
    report = (files / "errors.csv").read_text(encoding="utf-8-sig").splitlines()
    assert report == ["row,column,code,message", "3,phone,phone_invalid,“bad” is not a phone number."]
    assert ImportJob.objects.get().source == "crm"


@pytest.mark.django_db
def test_it_exits_1_when_an_atomic_import_is_refused(files):
    path = write_csv(files / "c.csv", [["name", "phone"], ["A", "13800138000"], ["B", "bad"]])
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command(
            "import", "customers", str(path), "--mode", "atomic", "--no-progress", stdout=out, stderr=io.StringIO()
        )
    assert refused.value.returncode == 1
    assert json.loads(out.getvalue().strip().splitlines()[-1]) == {
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "errors": 1,
    }
    assert Customer.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "name", "content", "message"),
    [
        ("customers", "missing.csv", None, "No such file"),
        ("tickets", "c.csv", b"name\nA\n", "Unknown import kind tickets"),
        ("customers", "c.csv", b"\xff\xfe\x00\x00\xff\xff\x81\x30", "neither UTF-8 nor GBK"),
        ("orders", "c.csv", "姓名,手机\n甲,13800138000\n".encode(), "no column for order_no, ordered_at, sku"),
        ("customers", "c.xlsx", b"not a zip", "is not an Excel (.xlsx) file"),
    ],
)
def test_it_exits_2_with_one_clear_line_for_unusable_input(files, kind, name, content, message):
    path = files / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CommandError) as refused:
        kehu_import(kind, str(path))
    assert refused.value.returncode == 2
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.django_db
def test_it_applies_an_explicit_mapping_and_saves_it(files):
    path = write_csv(files / "c.csv", [["Kunde", "Handy", "x"], ["A", "13800138000", "1"]])
    mapping = files / "m.json"
    mapping.write_text(json.dumps({"Kunde": "name", "Handy": "phone", "x": None}), encoding="utf-8")
    out, _err = kehu_import("customers", str(path), "--mapping", str(mapping), "--save-mapping", "weekly")
    assert json.loads(out.splitlines()[-1])["created"] == 1
    assert SavedMapping.objects.get(kind="customers", name="weekly").columns == {
        "Kunde": "name",
        "Handy": "phone",
        "x": "",
    }
    out, _err = kehu_import("customers", str(path), "--mapping", "weekly")
    assert json.loads(out.splitlines()[-1])["unchanged"] == 1


def test_it_never_prints_a_traceback_from_the_console_command(tmp_path):
    kehu = [sys.executable, "-c", "import sys; from kehu.cli import main; sys.exit(main())"]
    env = {**os.environ, "KEHU_LANGUAGE": "en"}
    done = subprocess.run(
        [*kehu, "import", "customers", str(tmp_path / "nope.csv")], capture_output=True, text=True, env=env
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"CommandError: No such file: {tmp_path / 'nope.csv'}"]
