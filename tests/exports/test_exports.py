"""Exports: role matrix, masking per role, formula injection, filters, background jobs with
download by the owner only, expiry, and bad input."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
import time_machine
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from kehu.customers.models import Customer
from kehu.exports.actions import do_purge_expired_exports
from kehu.exports.models import ExportJob, ExportStatus
from kehu.exports.writers import csv_cell, safe_text, xlsx_cell
from kehu.privacy.models import AuditAction, AuditEvent
from tests.factories import make_customer, make_order

ROLES = ["admin", "marketing", "sales", "service", "store_manager", "analyst"]
EXPORTERS = {"admin", "marketing", "sales", "store_manager", "analyst"}
UNMASKERS_WHO_EXPORT = {"admin", "sales"}


def content(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_rows(response: Any) -> list[list[str]]:
    text = content(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def export(client: Client, list_key: str = "customers", fmt: str = "csv", query: str = "", **extra: str) -> Any:
    return client.post(f"/exports/{list_key}/", {"format": fmt, "query": query, **extra})


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_exporting_roles_export_and_audits_each_export(
    client_for: Any, role: str, shanghai_customer: Customer, beijing_customer: Customer
) -> None:
    response = export(client_for(role))
    events = AuditEvent.objects.filter(action=AuditAction.EXPORT)
    if role not in EXPORTERS:
        assert response.status_code == 403
        assert events.count() == 0
        assert ExportJob.objects.count() == 0
        return
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    expected = {"王芳"} if role == "store_manager" else {"王芳", "赵强"}
    assert {r[1] for r in rows[1:]} == expected
    event = events.get()
    assert (event.actor_label, event.object_type) == (role, "customers")
    assert event.after == {
        "list": "customers",
        "format": "csv",
        "filters": {"sort": "recent"},
        "rows": len(expected),
        "unmasked": False,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(EXPORTERS))
def test_it_masks_phones_and_emails_in_exports_as_on_the_page(
    client_for: Any, role: str, shanghai_customer: Customer
) -> None:
    rows = csv_rows(export(client_for(role)))
    header, row = rows[0], rows[1]
    assert row[header.index("Phone")] == "138****8000"
    assert row[header.index("Email")] == "w***@example.com"
    assert "13800138000" not in ",".join(row)


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(EXPORTERS))
def test_it_unmasks_only_for_roles_that_may_unmask_and_audits_it(
    client_for: Any, role: str, shanghai_customer: Customer
) -> None:
    response = export(client_for(role), unmasked="1")
    if role not in UNMASKERS_WHO_EXPORT:
        assert response.status_code == 403
        assert not AuditEvent.objects.filter(action__in=[AuditAction.EXPORT, AuditAction.UNMASK]).exists()
        return
    rows = csv_rows(response)
    header, row = rows[0], rows[1]
    # A leading + would make a spreadsheet read a formula: neutralised like any other text cell.
    assert row[header.index("Phone")] == "'+8613800138000"
    assert row[header.index("Email")] == "wang.fang@example.com"
    assert AuditEvent.objects.filter(action=AuditAction.UNMASK, object_type="customers").count() == 1


@pytest.mark.django_db
def test_it_exports_the_current_filters_and_sort_of_the_list(client_for: Any, ref: dict[str, Any]) -> None:
    lead = make_customer("李娜", phone="13700137000", kind="lead")
    big = make_customer("陈静", phone="13600136000")
    small = make_customer("周杰", phone="13500135000")
    make_order(big, amount="900.00")
    make_order(small, amount="100.00")
    rows = csv_rows(export(client_for("analyst"), query="kind=lead&cursor=abc"))
    assert [r[1] for r in rows[1:]] == [lead.name]
    rows = csv_rows(export(client_for("analyst"), query="has_ordered=yes&sort=spent"))
    assert [r[1] for r in rows[1:]] == ["陈静", "周杰"]
    event = AuditEvent.objects.filter(action=AuditAction.EXPORT).order_by("-pk").first()
    assert event.after["filters"] == {"has_ordered": "True", "sort": "spent"}


@pytest.mark.django_db
def test_it_writes_localised_headers(client_for: Any, shanghai_customer: Customer) -> None:
    client = client_for("analyst")
    client.cookies["django_language"] = "zh-hans"
    header = csv_rows(
        client.post("/exports/customers/", {"format": "csv", "query": ""}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    )[0]
    assert "姓名" in header and "手机号" in header


@pytest.mark.django_db
def test_it_neutralises_formula_cells_in_csv_and_xlsx(client_for: Any, ref: dict[str, Any]) -> None:
    names = ['=HYPERLINK("http://x")', "+SUM(1)", "-2+3", "@cmd", "正常"]
    for name in names:
        make_customer(name)
    rows = csv_rows(export(client_for("admin")))
    exported = {r[1] for r in rows[1:]}
    assert exported == {"'" + n if n[0] in "=+-@\t\r" else n for n in names}

    response = export(client_for("admin"), fmt="xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(content(response))).active
    cells = list(sheet.iter_rows(min_row=2, values_only=True))
    assert {c[1] for c in cells} == exported
    assert all(sheet.cell(row=i, column=2).data_type == "s" for i in range(2, len(names) + 2))


def test_it_keeps_numbers_as_numbers_and_strips_characters_xlsx_cannot_hold() -> None:
    from decimal import Decimal

    assert csv_cell(Decimal("-12.50")) == "-12.50"
    assert xlsx_cell(Decimal("-12.50")) == Decimal("-12.50")
    assert xlsx_cell("a\x00b\x1fc") == "abc"
    assert safe_text("-1") == "'-1"
    assert safe_text("1-") == "1-"
    assert (safe_text("\tTab"), safe_text("\rCR")) == ("'\tTab", "'\rCR")
    assert xlsx_cell(dt.datetime(2026, 1, 1, 4, tzinfo=dt.UTC)) == dt.datetime(2026, 1, 1, 12)


@pytest.mark.django_db
def test_it_exports_xlsx_with_typed_cells(client_for: Any, shanghai_customer: Customer) -> None:
    response = export(client_for("sales"), fmt="xlsx")
    sheet = load_workbook(io.BytesIO(content(response))).active
    header, row = list(sheet.iter_rows(min_row=1, max_row=2, values_only=True))
    values = dict(zip(header, row, strict=True))
    assert values["Name"] == "王芳"
    assert values["Phone"] == "138****8000"
    assert values["Orders"] == 1
    assert float(values["Total spent (CNY)"]) == 1234.0
    assert isinstance(values["Last purchase"], dt.datetime)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "store_manager"])
def test_it_exports_orders_within_the_users_scope(
    client_for: Any, role: str, shanghai_customer: Customer, beijing_customer: Customer
) -> None:
    response = client_for(role).post("/exports/orders/", {"format": "csv", "status": "paid", "date_from": "2000-01-01"})
    rows = csv_rows(response)
    expected = {"王芳"} if role == "store_manager" else {"王芳", "赵强"}
    assert {r[6] for r in rows[1:]} == expected
    assert rows[0][0] == "Order number"


@pytest.mark.django_db
def test_it_runs_large_exports_in_the_background_and_serves_the_file_to_its_owner_only(
    client_for: Any,
    settings: Any,
    shanghai_customer: Customer,
    beijing_customer: Customer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.EXPORT_SYNC_LIMIT = 1
    owner = client_for("analyst")
    with django_capture_on_commit_callbacks(execute=True):
        response = export(owner, fmt="xlsx")
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exports/jobs/{job.pk}/"
    assert (job.status, job.rows_total, job.rows_written, job.progress) == (ExportStatus.SUCCEEDED, 2, 2, 100)
    assert owner.get(f"/exports/jobs/{job.pk}/").status_code == 200
    assert b"Download" in owner.get(f"/exports/jobs/{job.pk}/progress").content

    download = owner.get(f"/exports/jobs/{job.pk}/download")
    assert download.status_code == 200
    sheet = load_workbook(io.BytesIO(content(download))).active
    assert sorted(r[1] for r in sheet.iter_rows(min_row=2, values_only=True)) == ["王芳", "赵强"]
    assert "138****8000" in [r[3] for r in sheet.iter_rows(min_row=2, values_only=True)]

    for other in ("marketing", "sales", "store_manager"):
        assert client_for(other).get(f"/exports/jobs/{job.pk}/download").status_code == 404
        assert client_for(other).get(f"/exports/jobs/{job.pk}/").status_code == 404
    assert client_for("service").get(f"/exports/jobs/{job.pk}/download").status_code == 403
    assert client_for("admin").get(f"/exports/jobs/{job.pk}/download").status_code == 200
    assert Client().get(f"/exports/jobs/{job.pk}/download").status_code == 302

    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.after["rows"] == 2 and event.after["job"] == job.pk
    page = owner.get("/exports/")
    assert page.status_code == 200 and f"/exports/jobs/{job.pk}/download".encode() in page.content


@pytest.mark.django_db
def test_it_expires_export_files(
    client_for: Any, settings: Any, shanghai_customer: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EXPORT_SYNC_LIMIT = 0
    settings.EXPORT_TTL_HOURS = 2
    owner = client_for("analyst")
    with django_capture_on_commit_callbacks(execute=True):
        export(owner)
    job = ExportJob.objects.get()
    path = settings.EXPORT_DIR / job.file_name
    assert path.exists()
    assert do_purge_expired_exports() == 0
    assert owner.get(f"/exports/jobs/{job.pk}/download").status_code == 200
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)):
        # Past its time the file is refused even before the purge job has run.
        assert owner.get(f"/exports/jobs/{job.pk}/download").status_code == 410
        assert do_purge_expired_exports() == 1
    job.refresh_from_db()
    assert job.status == ExportStatus.EXPIRED and not path.exists()
    assert owner.get(f"/exports/jobs/{job.pk}/download").status_code == 410


@pytest.mark.django_db
def test_it_fails_a_queued_export_whose_owner_lost_the_right_to_export(
    client_for: Any, settings: Any, users: dict[str, Any], shanghai_customer: Customer
) -> None:
    settings.EXPORT_SYNC_LIMIT = 0
    export(client_for("analyst"))  # no on-commit capture: the job stays queued
    job = ExportJob.objects.get()
    users["analyst"].role = "service"
    users["analyst"].save()
    from kehu.exports.tasks import run_export_job

    run_export_job.call(job.pk)
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED and not job.file_name
    assert not list(settings.EXPORT_DIR.iterdir())
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url,data,status",
    [
        ("/exports/nonsense/", {"format": "csv"}, 404),
        ("/exports/customers/", {"format": "pdf"}, 302),
        ("/exports/customers/", {"format": ""}, 302),
        ("/exports/customers/", {"format": "csv", "query": "min_spent=abc&store=999999&tag=x&%zz=1"}, 200),
        ("/exports/customers/", {"format": "csv", "query": "kind=" + "x" * 10_000}, 200),
        ("/exports/orders/", {"format": "xlsx", "date_from": "not-a-date", "store": "-1"}, 200),
    ],
)
def test_it_answers_bad_input_without_a_500(
    client_for: Any, shanghai_customer: Customer, url: str, data: dict[str, str], status: int
) -> None:
    assert client_for("admin").post(url, data).status_code == status


@pytest.mark.django_db
def test_it_refuses_get_and_unknown_jobs(client_for: Any) -> None:
    client = client_for("admin")
    assert client.get("/exports/customers/").status_code == 405
    assert client.get("/exports/jobs/999/download").status_code == 404


@pytest.mark.django_db
def test_it_shows_export_buttons_only_to_roles_that_may_export(client_for: Any, shanghai_customer: Customer) -> None:
    assert b'action="/exports/customers/"' in client_for("analyst").get("/customers/?kind=consumer").content
    assert b'action="/exports/customers/"' not in client_for("service").get("/customers/").content
    page = client_for("sales").get("/customers/?kind=consumer").content
    assert b'name="unmasked"' in page and b'value="kind=consumer"' in page
    assert b'name="unmasked"' not in client_for("analyst").get("/customers/").content


@pytest.mark.django_db
def test_it_exports_the_same_phone_as_the_page_in_a_fixed_number_of_queries(
    client_for: Any, ref: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    from kehu.customers.actions import check_add_identity

    first = make_customer("甲", phone="13800000001")
    check_add_identity(None, first, "phone", "13800000002")
    for i in range(30):
        make_customer(f"客户{i}", phone=f"1370000{i:04d}", email=f"c{i}@example.com")
    client = client_for("admin")
    with django_assert_max_num_queries(25):
        rows = csv_rows(export(client))
    assert len(rows) == 32
    by_name = {r[1]: r for r in rows[1:]}
    assert by_name["甲"][3] == "138****0001"
    assert by_name["客户7"][4] == "c***@example.com"


@pytest.mark.django_db
def test_it_marks_jobs_whose_worker_died_as_failed(client_for: Any, settings: Any, shanghai_customer: Customer) -> None:
    settings.EXPORT_SYNC_LIMIT = 0
    export(client_for("analyst"))  # queued; its task never runs (no on-commit capture)
    job = ExportJob.objects.get()
    do_purge_expired_exports()
    assert ExportJob.objects.get(pk=job.pk).status == ExportStatus.QUEUED
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=2)):
        do_purge_expired_exports()
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED and job.message


@given(st.text())
def test_no_text_cell_can_start_a_formula(text: str) -> None:
    for cell in (csv_cell(text), xlsx_cell(text)):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        if text.startswith(("=", "+", "-", "@", "\t", "\r")):
            assert cell.startswith("'")


@pytest.mark.django_db
def test_it_carries_custom_field_filters_into_the_export_and_the_audit(client_for: Any, ref: dict[str, Any]) -> None:
    from kehu.customfields.models import FieldDefinition

    FieldDefinition.objects.create(entity="customer", key="vip_level", label_zh="会员等级", type="text")
    gold = make_customer("金卡", phone="13300000001")
    Customer.objects.filter(pk=gold.pk).update(custom={"vip_level": "gold"})
    make_customer("普通", phone="13300000002")
    rows = csv_rows(export(client_for("analyst"), query="cf_vip_level=gold"))
    assert [r[1] for r in rows[1:]] == ["金卡"]
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.after["filters"]["custom"] == {"cf_vip_level": ["gold"]}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_it_exports_custom_fields_masking_personal_ones_as_on_the_page(
    client_for: Any, role: str, shanghai_customer: Customer
) -> None:
    from tests.customfields.conftest import define

    define(key="group", type="text", label_zh="微信群", label_en="WeChat group")
    define(key="id_card", type="text", label_zh="证件号", label_en="ID card", is_personal=True)
    Customer.objects.filter(pk=shanghai_customer.pk).update(custom={"group": "=HYPERLINK(1)", "id_card": "310101"})
    rows = csv_rows(export(client_for(role), **({"unmasked": "1"} if role == "admin" else {})))
    header, row = rows[0], rows[1]
    assert header[-2:] == ["WeChat group", "ID card"]
    assert row[header.index("WeChat group")] == "'=HYPERLINK(1)"  # formula neutralised
    assert row[header.index("ID card")] == ("310101" if role == "admin" else "****")
