from __future__ import annotations

import datetime as dt

import pytest

from kehu.customers.models import Address, Customer, CustomerIdentity, SearchToken
from kehu.imports.actions import revert_import
from kehu.imports.models import ImportedRecord, JobStatus
from tests.imports.conftest import run, write_csv

HEADER = ["客户编号", "姓名", "手机号", "邮箱"]


def people(n: int, bad_row: int | None = None) -> list[list[str]]:
    rows = [HEADER]
    for i in range(1, n + 1):
        phone = "12345" if i + 1 == bad_row else f"139{i:08d}"
        rows.append([f"C{i}", f"客户{i}", phone, f"c{i}@example.com"])
    return rows


@pytest.mark.django_db
def test_it_changes_nothing_when_the_same_file_is_imported_twice(files):
    path = write_csv(files / "c.csv", people(50))
    first = run("customers", path, source="crm")
    second = run("customers", path, source="crm")
    assert first.summary() == {"created": 50, "updated": 0, "unchanged": 0, "errors": 0}
    assert second.summary() == {"created": 0, "updated": 0, "unchanged": 50, "errors": 0}
    assert Customer.objects.count() == 50
    assert CustomerIdentity.objects.count() == 100
    assert SearchToken.objects.filter(customer__source_id="C7", token="户7").count() == 1


@pytest.mark.django_db
def test_it_updates_a_changed_row_only(files):
    run("customers", write_csv(files / "a.csv", people(3)), source="crm")
    rows = people(3)
    rows[2][1] = "新名字"
    job = run("customers", write_csv(files / "b.csv", rows), source="crm")
    assert job.summary() == {"created": 0, "updated": 1, "unchanged": 2, "errors": 0}
    renamed = Customer.objects.get(source_id="C2")
    assert renamed.name == "新名字"
    assert SearchToken.objects.filter(customer=renamed, token="名字").exists()
    assert not SearchToken.objects.filter(customer=renamed, token="户2").exists()


@pytest.mark.django_db
def test_it_refuses_an_atomic_import_with_one_bad_row_in_ten_thousand(files):
    path = write_csv(files / "c.csv", people(10_000, bad_row=5001))
    job = run("customers", path, mode="atomic", source="crm", chunk_rows=2000)
    assert job.status == JobStatus.FAILED
    assert job.summary() == {"created": 0, "updated": 0, "unchanged": 0, "errors": 1}
    assert Customer.objects.count() == 0
    assert CustomerIdentity.objects.count() == 0
    assert ImportedRecord.objects.count() == 0
    assert job.error_report.splitlines() == [
        "row,column,code,message",
        "5001,手机号,phone_invalid,“12345” is not a valid phone number.",
    ]


@pytest.mark.django_db
def test_it_imports_the_good_rows_and_reports_the_bad_one_in_skip_mode(files):
    path = write_csv(files / "c.csv", people(10_000, bad_row=5001))
    job = run("customers", path, mode="skip", source="crm", chunk_rows=2000)
    assert job.status == JobStatus.SUCCEEDED
    assert job.summary() == {"created": 9_999, "updated": 0, "unchanged": 0, "errors": 1}
    assert Customer.objects.count() == 9_999
    assert not Customer.objects.filter(source_id="C5000").exists()
    assert job.error_report.splitlines()[1] == "5001,手机号,phone_invalid,“12345” is not a valid phone number."
    assert job.rows_processed == 10_000


@pytest.mark.django_db
def test_it_reruns_an_import_killed_halfway_to_the_right_state(files):
    rows = people(1000)
    run("customers", write_csv(files / "half.csv", rows[:501]), source="crm")
    job = run("customers", write_csv(files / "all.csv", rows), source="crm", chunk_rows=300)
    assert job.summary() == {"created": 500, "updated": 0, "unchanged": 500, "errors": 0}
    assert Customer.objects.count() == 1000
    assert CustomerIdentity.objects.count() == 2000
    assert Customer.objects.values("source_id").distinct().count() == 1000


@pytest.mark.django_db
def test_it_reruns_an_import_that_crashed_between_chunks(files, monkeypatch):
    from kehu.imports.importers import CustomerImporter

    path = write_csv(files / "all.csv", people(1000))
    original = CustomerImporter.write
    calls = {"n": 0}

    def crash_on_third_chunk(self, records):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return original(self, records)

    monkeypatch.setattr(CustomerImporter, "write", crash_on_third_chunk)
    with pytest.raises(RuntimeError):
        run("customers", path, source="crm", chunk_rows=300)
    assert Customer.objects.count() == 600
    monkeypatch.setattr(CustomerImporter, "write", original)
    job = run("customers", path, source="crm", chunk_rows=300)
    assert job.summary() == {"created": 400, "updated": 0, "unchanged": 600, "errors": 0}
    assert Customer.objects.count() == 1000
    assert CustomerIdentity.objects.count() == 2000


@pytest.mark.django_db
def test_it_cleans_a_messy_real_world_file(files):
    text = (
        "\ufeff序号,客户姓名,手机,电子邮箱,出生日期,详细地址,无关列\r\n"
        "A1,张伟,138 0013 8000,ZhangWei@Example.COM,32874,上海市浦东新区世纪大道100号,x\r\n"
        "\r\n"
        "A2,李娜,＋８６ １３９-００１３-９０００,,1990/1/2,,y\r\n"
        "A3,张伟伟,+86 13800138000,,,,\r\n"
        "A4,=1+1,8613700137000,,,,\r\n"
        "A5,王芳,12345,,,,\r\n"
        "A6,赵六,13600136000,not-an-email,,,\r\n"
        "A7,孙七,0086 135 0013 5000,,2999-01-01,,\r\n"
        ",,,,,,\r\n"
    )
    path = files / "messy.csv"
    path.write_text(text, encoding="utf-8")
    job = run("customers", path, source="shop")
    assert job.summary() == {"created": 3, "updated": 0, "unchanged": 0, "errors": 3}
    assert [line.split(",")[:3] for line in job.error_report.splitlines()[1:]] == [
        ["7", "手机", "phone_invalid"],
        ["8", "电子邮箱", "email_invalid"],
        ["9", "出生日期", "date_invalid"],
    ]
    zhang = CustomerIdentity.objects.get(value="+8613800138000").customer
    assert zhang.name == "张伟"  # A3 has the same phone: same customer, the first row's name kept
    assert zhang.birthday == dt.date(1990, 1, 1)  # Excel serial 32874
    assert sorted(zhang.identities.values_list("value", flat=True)) == ["+8613800138000", "zhangwei@example.com"]
    assert Address.objects.filter(customer=zhang).values_list("province", "city", "district", "detail").get() == (
        "上海市",
        "上海市",
        "浦东新区",
        "世纪大道100号",
    )
    assert CustomerIdentity.objects.get(value="+8613900139000").customer.birthday == dt.date(1990, 1, 2)
    assert CustomerIdentity.objects.get(value="+8613700137000").customer.name == "=1+1"  # data, not a formula


@pytest.mark.django_db
def test_it_reads_a_gbk_csv_saved_by_chinese_excel(files):
    path = write_csv(
        files / "gbk.csv", [["姓名", "手机号码"], ["欧阳娜娜", "13800138000"], ["张三", "13900139000"]], "gbk"
    )
    job = run("customers", path)
    assert job.summary() == {"created": 2, "updated": 0, "unchanged": 0, "errors": 0}
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["张三", "欧阳娜娜"]


@pytest.mark.django_db
def test_it_reads_an_xlsx_file_with_numbers_dates_and_formula_text(files):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Mobile", "Birthday", "Member card"])
    sheet.append(["Li Lei", 13800138000, dt.datetime(1988, 5, 6), 100200300])
    sheet.append([None, None, None, None])
    sheet.append(["韩梅梅", "139-0013-9000", "1990-02-03", "C-77"])
    sheet["A5"] = '\'=HYPERLINK("x")'
    sheet["B5"] = "13700137000"
    path = files / "c.xlsx"
    book.save(path)
    job = run("customers", path)
    assert job.summary() == {"created": 3, "updated": 0, "unchanged": 0, "errors": 0}
    li = CustomerIdentity.objects.get(value="+8613800138000").customer
    assert (li.name, li.birthday) == ("Li Lei", dt.date(1988, 5, 6))
    assert li.identities.get(kind="member_card").value == "100200300"
    assert CustomerIdentity.objects.get(value="+8613700137000").customer.name == '\'=HYPERLINK("x")'


@pytest.mark.django_db
def test_it_writes_nothing_in_a_dry_run_but_counts_exactly(files):
    path = write_csv(files / "c.csv", people(20, bad_row=3))
    job = run("customers", path, dry_run=True)
    assert job.summary() == {"created": 19, "updated": 0, "unchanged": 0, "errors": 1}
    assert Customer.objects.count() == 0
    assert ImportedRecord.objects.count() == 0


@pytest.mark.django_db
def test_it_reverts_an_import_to_the_previous_state_exactly(files):
    run("customers", write_csv(files / "a.csv", people(10)), source="crm")

    def state():
        return (
            sorted(Customer.objects.values_list("id", "name", "gender", "birthday", "source_id", "updated_at")),
            sorted(CustomerIdentity.objects.values_list("customer_id", "kind", "value", "is_primary")),
            sorted(SearchToken.objects.values_list("customer_id", "token")),
            sorted(Address.objects.values_list("customer_id", "province", "detail")),
        )

    before = state()
    rows = people(12)
    rows[1][1] = "改了名"  # C1 renamed
    rows[2][3] = ""  # C2 without email: nothing removed
    rows[3] += ["1990-01-01", "北京市朝阳区三里屯"]  # C3 gets a birthday and an address
    rows[0] += ["生日", "地址"]
    rows[4][3] = "new-for-c4@example.com"  # C4 gets a second email
    job = run("customers", write_csv(files / "b.csv", rows), source="crm")
    assert job.summary() == {"created": 2, "updated": 2, "unchanged": 8, "errors": 0}
    assert CustomerIdentity.objects.filter(value="new-for-c4@example.com").exists()
    revert_import(job)
    assert state() == before
    job.refresh_from_db()
    assert job.status == JobStatus.REVERTED
