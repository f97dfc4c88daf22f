"""The import pages through the test client: upload → map → preview → dry run → run → history →
revert with real CSV, GBK and XLSX files, saved mappings, and bad uploads giving clear errors."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kehu.commerce.models import Order
from kehu.customers.models import Customer
from kehu.imports import readers
from kehu.imports.models import ImportedRecord, ImportJob, JobStatus, SavedMapping
from kehu.privacy.models import AuditEvent

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_private_uploads")]


@pytest.fixture
def _private_uploads(settings: Any, tmp_path: Path) -> None:
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    settings.TASKS = IMMEDIATE


@pytest.fixture
def admin(client: Client, users: dict[str, Any]) -> Client:
    client.force_login(users["admin"])
    return client


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client: Client, name: str, content: bytes, *, kind: str = "customers", mode: str = "skip") -> Any:
    return client.post(
        "/imports/new/",
        {"kind": kind, "source": "crm", "mode": mode, "file": SimpleUploadedFile(name, content)},
    )


def token_of(response: Any) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    match = re.fullmatch(r"/imports/new/([\w-]+)/map/", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def selected(page: str, index: int) -> str:
    """The chosen option of the select of file column `index` on the mapping page."""
    select = re.search(rf'<select name="column_{index}".*?</select>', page, re.S)
    assert select
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(0))
    return chosen.group(1) if chosen else ""


def mapping_post(header: list[str], targets: list[str], save_as: str = "") -> dict[str, str]:
    data = {f"column_{i}": t for i, t in enumerate(targets)}
    data["save_as"] = save_as
    return data


def start(client: Client, token: str, *, dry_run: bool, capture: Any) -> ImportJob:
    with capture(execute=True):
        response = client.post(f"/imports/new/{token}/start/", {"dry_run": "1" if dry_run else "0"})
    assert response.status_code == 302, response.content.decode()[:2000]
    job_id = int(re.fullmatch(r"/imports/jobs/(\d+)/", response["Location"]).group(1))  # type: ignore[union-attr]
    return ImportJob.objects.get(pk=job_id)


CUSTOMERS = [
    ["客户编号", "姓名", "手机号码（必填）", "Email"],
    ["C1", "王芳", "138 0013 8000", "Wang.Fang@Example.com"],
    ["C2", "李雷", "12345", "li@example.com"],
    ["C3", "韩梅梅", "+86 139-0000-0003", ""],
]


def test_it_takes_a_csv_from_upload_to_revert(
    admin: Client, users: Any, django_capture_on_commit_callbacks: Any
) -> None:
    token = token_of(upload(admin, "会员 名单/../x.csv", csv_bytes(CUSTOMERS)))

    page = admin.get(f"/imports/new/{token}/map/").content.decode()
    assert [selected(page, i) for i in range(4)] == ["source_id", "name", "phone", "email"]
    assert "138 0013 8000" in page  # sample values beside each header

    response = admin.post(
        f"/imports/new/{token}/map/", mapping_post(CUSTOMERS[0], ["source_id", "name", "phone", "email"], "weekly crm")
    )
    assert response["Location"] == f"/imports/new/{token}/preview/"
    saved = SavedMapping.objects.get(kind="customers", name="weekly crm")
    assert saved.columns == {"客户编号": "source_id", "姓名": "name", "手机号码（必填）": "phone", "Email": "email"}

    preview = admin.get(f"/imports/new/{token}/preview/").content.decode()
    assert "+8613800138000" in preview and "wang.fang@example.com" in preview
    assert "+8613900000003" in preview
    assert preview.count('data-row-error="1"') == 1
    assert "is not a valid phone number" in preview
    assert Customer.objects.count() == 0

    dry = start(admin, token, dry_run=True, capture=django_capture_on_commit_callbacks)
    assert (dry.status, dry.dry_run, dry.summary()) == (
        JobStatus.SUCCEEDED,
        True,
        {"created": 2, "updated": 0, "unchanged": 0, "errors": 1},
    )
    assert Customer.objects.count() == 0
    page = admin.get(f"/imports/jobs/{dry.pk}/").content.decode()
    assert "3,手机号码（必填）,phone_invalid" not in page  # shown as a table, not raw CSV
    assert "<td>3</td><td>手机号码（必填）</td><td><code>phone_invalid</code></td>" in page
    assert 'data-testid="run-import"' in page and 'data-testid="revert"' not in page

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/imports/jobs/{dry.pk}/run/")
    job = ImportJob.objects.exclude(pk=dry.pk).get()
    assert response["Location"] == f"/imports/jobs/{job.pk}/"
    assert (job.status, job.dry_run, job.mode, job.summary(), job.created_by) == (
        JobStatus.SUCCEEDED,
        False,
        "skip",
        {"created": 2, "updated": 0, "unchanged": 0, "errors": 1},
        users["admin"],
    )
    assert Path(job.file_name).name == "x.csv"
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["王芳", "韩梅梅"]
    assert AuditEvent.objects.filter(object_type="import_job", object_id=str(job.pk), action="create").count() == 2

    fragment = admin.get(f"/imports/jobs/{job.pk}/progress/")
    assert fragment["HX-Refresh"] == "true"
    assert 'data-testid="count-created">2<' in fragment.content.decode()

    history = admin.get("/imports/").content.decode()
    assert f"/imports/jobs/{job.pk}/" in history and f"/imports/jobs/{dry.pk}/" in history
    assert "x.csv" in history and "admin" in history

    confirm = admin.get(f"/imports/jobs/{job.pk}/revert/")
    assert confirm.status_code == 200 and 'data-testid="confirm-revert"' in confirm.content.decode()
    assert Customer.objects.count() == 2  # the confirmation page changes nothing
    response = admin.post(f"/imports/jobs/{job.pk}/revert/")
    assert response["Location"] == f"/imports/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == JobStatus.REVERTED
    assert Customer.objects.count() == 0
    assert AuditEvent.objects.filter(object_type="import_job", object_id=str(job.pk), action="delete").count() == 1
    page = admin.get(f"/imports/jobs/{job.pk}/").content.decode()
    assert "Reverted" in page and 'data-testid="revert"' not in page
    # A second revert is refused with a message and changes nothing.
    admin.post(f"/imports/jobs/{job.pk}/revert/")
    assert AuditEvent.objects.filter(object_type="import_job", object_id=str(job.pk), action="delete").count() == 1


def test_it_imports_orders_from_a_real_xlsx_with_a_formula_safe_report(
    admin: Client, ref: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rows = [
        ["订单号", "下单时间", "渠道", "门店", "商品编码", "数量", "单价", "-手机号"],
        ["SO-1", "2025-11-11 10:00", "web", "", "M-SHIRT-01", 2, 299, 13800138000],
        ["SO-1", "2025-11-11 10:00", "web", "", "S-SNEAK-01", 1, 499, 13800138000],
        ["SO-2", "2025/11/12", "门店", "sh-01", "M-COAT-01", 1, "1,299.00", "13900000002"],
        ["SO-3", "not a date", "web", "", "M-SHIRT-01", 1, 299, "13900000003"],
    ]
    token = token_of(upload(admin, "orders.xlsx", xlsx_bytes(rows), kind="orders"))
    page = admin.get(f"/imports/new/{token}/map/").content.decode()
    targets = [selected(page, i) for i in range(8)]
    assert targets == ["order_no", "ordered_at", "channel", "store", "sku", "quantity", "unit_price", "phone"]
    admin.post(f"/imports/new/{token}/map/", mapping_post(rows[0], targets))
    preview = admin.get(f"/imports/new/{token}/preview/").content.decode()
    assert "+8613800138000" in preview and "1299.00" in preview
    assert preview.count('data-row-error="1"') == 1

    job = start(admin, token, dry_run=False, capture=django_capture_on_commit_callbacks)
    assert (job.status, job.summary()) == (
        JobStatus.SUCCEEDED,
        {"created": 2, "updated": 0, "unchanged": 0, "errors": 1},
    )
    assert sorted(Order.objects.values_list("number", flat=True)) == ["SO-1", "SO-2"]
    assert Order.objects.get(number="SO-1").lines.count() == 2

    report = admin.get(f"/imports/jobs/{job.pk}/report.csv")
    assert report["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in report["Content-Disposition"]
    body = report.content
    assert body.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert lines[0] == ["row", "column", "code", "message"]
    assert lines[1][:3] == ["5", "下单时间", "date_invalid"]

    # A header that a spreadsheet would run as a formula is neutralised in the report.
    rows[4][1] = "2025-11-13"
    rows[4][7] = "123"
    token = token_of(upload(admin, "orders2.xlsx", xlsx_bytes(rows), kind="orders"))
    admin.post(f"/imports/new/{token}/map/", mapping_post(rows[0], targets))
    job = start(admin, token, dry_run=True, capture=django_capture_on_commit_callbacks)
    lines = list(csv.reader(io.StringIO(admin.get(f"/imports/jobs/{job.pk}/report.csv").content.decode("utf-8-sig"))))
    assert lines[1][:3] == ["5", "'-手机号", "phone_invalid"]


def test_it_reads_a_gbk_file_with_chinese_headers(admin: Client, django_capture_on_commit_callbacks: Any) -> None:
    rows = [["会员编号", "客户姓名", "联系电话", "性别", "生日"], ["G1", "张伟", "13700000001", "男", "1990年5月1日"]]
    token = token_of(upload(admin, "gbk.csv", csv_bytes(rows, "gbk")))
    page = admin.get(f"/imports/new/{token}/map/").content.decode()
    targets = [selected(page, i) for i in range(5)]
    assert targets == ["source_id", "name", "phone", "gender", "birthday"]
    admin.post(f"/imports/new/{token}/map/", mapping_post(rows[0], targets))
    assert "1990-05-01" in admin.get(f"/imports/new/{token}/preview/").content.decode()
    job = start(admin, token, dry_run=False, capture=django_capture_on_commit_callbacks)
    assert job.summary() == {"created": 1, "updated": 0, "unchanged": 0, "errors": 0}
    customer = Customer.objects.get()
    assert (customer.name, customer.gender, str(customer.birthday)) == ("张伟", "M", "1990-05-01")


def test_it_refuses_an_atomic_import_with_errors_and_offers_no_revert(
    admin: Client, django_capture_on_commit_callbacks: Any
) -> None:
    token = token_of(upload(admin, "c.csv", csv_bytes(CUSTOMERS), mode="atomic"))
    admin.post(f"/imports/new/{token}/map/", mapping_post(CUSTOMERS[0], ["source_id", "name", "phone", "email"]))
    job = start(admin, token, dry_run=False, capture=django_capture_on_commit_callbacks)
    assert (job.status, job.summary()) == (JobStatus.FAILED, {"created": 0, "updated": 0, "unchanged": 0, "errors": 1})
    assert Customer.objects.count() == 0 and ImportedRecord.objects.count() == 0
    page = admin.get(f"/imports/jobs/{job.pk}/").content.decode()
    assert "Nothing was imported" in page and 'data-testid="revert"' not in page
    assert admin.get(f"/imports/jobs/{job.pk}/revert/")["Location"] == f"/imports/jobs/{job.pk}/"
    admin.post(f"/imports/jobs/{job.pk}/revert/")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_it_saves_and_loads_a_mapping_for_unrecognised_headers(admin: Client) -> None:
    rows = [["Col A", "Col B", "Col C"], ["X1", "赵六", "13600000006"]]
    token = token_of(upload(admin, "odd.csv", csv_bytes(rows)))
    page = admin.get(f"/imports/new/{token}/map/").content.decode()
    assert [selected(page, i) for i in range(3)] == ["", "", ""]
    response = admin.post(
        f"/imports/new/{token}/map/", mapping_post(rows[0], ["source_id", "name", "phone"], "odd shop")
    )
    assert response.status_code == 302
    saved = SavedMapping.objects.get(name="odd shop")

    token = token_of(upload(admin, "odd2.csv", csv_bytes(rows)))
    page = admin.get(f"/imports/new/{token}/map/?saved={saved.pk}").content.decode()
    assert [selected(page, i) for i in range(3)] == ["source_id", "name", "phone"]


def test_it_explains_mapping_mistakes_without_saving_anything(admin: Client) -> None:
    token = token_of(upload(admin, "c.csv", csv_bytes(CUSTOMERS), kind="orders"))
    page = admin.get(f"/imports/new/{token}/map/").content.decode()
    assert "bg-red-lt" in page  # orders need order_no, ordered_at, sku: none are in this file
    response = admin.post(f"/imports/new/{token}/map/", mapping_post(CUSTOMERS[0], ["", "name", "phone", "phone"], "x"))
    assert response.status_code == 400
    text = response.content.decode()
    assert "Another column already fills this target." in text
    assert "Choose a column for every required target" in text
    assert SavedMapping.objects.count() == 0
    assert admin.get(f"/imports/new/{token}/preview/")["Location"] == f"/imports/new/{token}/map/"


def zip_bomb_xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 5_000_000)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "The submitted file is empty."),
        ("blank.csv", b"\r\n\r\n  \r\n", "The file has no header row."),
        ("binary.csv", b"name,phone\n\xff\xfe\xff\x00\x81", "is neither UTF-8 nor GBK/GB18030 text"),
        ("picture.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "is not an Excel (.xlsx) file"),
        ("report.pdf", b"%PDF-1.4", "Choose a .csv or .xlsx file."),
        ("bomb.xlsx", None, "unpacks to more than"),
        ("big.csv", b"name,phone\n" + b"a,1\n" * 50, "the limit is"),
    ],
)
def test_it_refuses_bad_uploads_with_a_clear_message(
    admin: Client, settings: Any, monkeypatch: Any, name: str, content: bytes | None, message: str
) -> None:
    settings.IMPORT_MAX_UPLOAD_BYTES = 150
    monkeypatch.setattr(readers, "MAX_XLSX_UNPACKED_BYTES", 1_000_000)
    if content is None:
        settings.IMPORT_MAX_UPLOAD_BYTES = 10_000_000
        content = zip_bomb_xlsx()
    response = upload(admin, name, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not any(p.is_file() for p in Path(settings.IMPORT_UPLOAD_DIR).rglob("*"))  # nothing kept
    assert ImportJob.objects.count() == 0


def test_it_cancels_a_queued_job_and_shows_its_progress(admin: Client, settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    token = token_of(upload(admin, "c.csv", csv_bytes(CUSTOMERS)))
    admin.post(f"/imports/new/{token}/map/", mapping_post(CUSTOMERS[0], ["source_id", "name", "phone", "email"]))
    response = admin.post(f"/imports/new/{token}/start/", {"dry_run": "0"})
    job = ImportJob.objects.get()
    fragment = admin.get(f"/imports/jobs/{job.pk}/progress/")
    assert "HX-Refresh" not in fragment and 'hx-trigger="every 1s"' in fragment.content.decode()
    response = admin.post(f"/imports/jobs/{job.pk}/cancel/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "cancelling" in response.content.decode()
    job.refresh_from_db()
    assert job.cancel_requested and job.status == JobStatus.QUEUED


def test_it_offers_importers_and_columns_that_apps_register(admin: Client) -> None:
    from kehu.imports import registry
    from kehu.imports.importers import CustomerImporter

    class LoyaltyField(registry.Field):
        label = "Loyalty tier (custom)"

    class Extended(CustomerImporter):
        kind = "loyalty_customers"
        fields = (*CustomerImporter.fields, LoyaltyField("cf_tier", ("会员等级",)))

    registry.register_importer(Extended.kind, Extended)
    try:
        assert 'value="loyalty_customers"' in admin.get("/imports/new/").content.decode()
        rows = [["姓名", "手机", "会员等级"], ["周七", "13500000007", "金卡"]]
        token = token_of(upload(admin, "l.csv", csv_bytes(rows), kind="loyalty_customers"))
        page = admin.get(f"/imports/new/{token}/map/").content.decode()
        assert selected(page, 2) == "cf_tier" and "Loyalty tier (custom)" in page
    finally:
        registry._REGISTRY.pop(Extended.kind, None)


def test_the_navigation_links_the_import_pages_for_those_who_may_import(client: Client, users: Any) -> None:
    client.force_login(users["marketing"])
    assert 'href="/imports/"' in client.get("/").content.decode()
    client.force_login(users["service"])
    assert 'href="/imports/"' not in client.get("/").content.decode()


def test_it_refuses_a_revert_that_later_data_depends_on_and_changes_nothing(
    admin: Client, ref: Any, django_capture_on_commit_callbacks: Any, tmp_path: Path
) -> None:
    from tests.imports.conftest import run, write_csv

    token = token_of(upload(admin, "c.csv", csv_bytes(CUSTOMERS)))
    admin.post(f"/imports/new/{token}/map/", mapping_post(CUSTOMERS[0], ["source_id", "name", "phone", "email"]))
    job = start(admin, token, dry_run=False, capture=django_capture_on_commit_callbacks)
    orders = [
        ["订单号", "下单时间", "渠道", "商品编码", "单价", "手机号"],
        ["SO-9", "2025-11-11 10:00", "web", "M-SHIRT-01", "299", "13800138000"],
    ]
    order_job = run("orders", write_csv(tmp_path / "o.csv", orders), source="shop")
    assert order_job.created == 1, order_job.error_report
    response = admin.post(f"/imports/jobs/{job.pk}/revert/", follow=True)
    assert "Cannot revert" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert Customer.objects.count() == 2 and Order.objects.count() == 1
    assert not AuditEvent.objects.filter(object_type="import_job", object_id=str(job.pk), action="delete").exists()


def test_the_history_is_paginated_newest_first(admin: Client) -> None:
    ImportJob.objects.bulk_create(
        [
            ImportJob(kind="customers", file_name=f"/x/f{i}.csv", source="crm", status=JobStatus.SUCCEEDED)
            for i in range(30)
        ]
    )
    first = admin.get("/imports/").content.decode()
    second = admin.get("/imports/?page=2").content.decode()
    newest = ImportJob.objects.order_by("-pk").first()
    assert f'href="/imports/jobs/{newest.pk}/"' in first and f'href="/imports/jobs/{newest.pk}/"' not in second
    assert "Page 2 of 2" in second and second.count('<a href="/imports/jobs/') == 5 * 2


def test_it_offers_custom_fields_as_targets_and_imports_them(
    admin: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from kehu.customfields.models import FieldDefinition

    FieldDefinition.objects.create(
        entity="customer", key="shoe_size", label_zh="鞋码", label_en="Shoe size", type="text"
    )
    rows = [["姓名", "手机", "鞋码"], ["周七", "13500000007", "42"]]
    token = token_of(upload(admin, "shoes.csv", csv_bytes(rows)))
    page = admin.get(f"/imports/new/{token}/map/").content.decode()
    targets = [selected(page, i) for i in range(3)]
    assert targets[:2] == ["name", "phone"] and targets[2].endswith("shoe_size")
    assert ">Shoe size</option>" in page
    admin.post(f"/imports/new/{token}/map/", mapping_post(rows[0], targets))
    job = start(admin, token, dry_run=False, capture=django_capture_on_commit_callbacks)
    assert job.summary() == {"created": 1, "updated": 0, "unchanged": 0, "errors": 0}
    assert Customer.objects.get().custom == {"shoe_size": "42"}
