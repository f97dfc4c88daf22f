"""The import journey in a real browser (Chinese UI): upload a customer file, check the automatic
column mapping, preview, dry run, run on the background worker while the progress bar polls to
done, find it in the history and revert it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from kehu.customers.models import Customer
from kehu.imports.models import ImportJob, JobStatus
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def run_worker() -> None:
    """One pass of the real django-tasks database worker, as production runs it."""
    call_command("db_worker", "--batch", "--interval", "0")


def test_it_imports_and_reverts_a_customer_file_in_the_browser(
    live_server: Any, page: Any, users: Any, settings: Any, tmp_path: Path
) -> None:
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    rows = ["客户编号,姓名,手机号码,邮箱"] + [f"C{i},客户{i},139{i:08d},c{i}@example.com" for i in range(1, 41)]
    rows.append("C99,坏号码,12345,")
    source = tmp_path / "会员名单.csv"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8-sig")

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "marketing")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.click("a.nav-link.dropdown-toggle:has(.ti-database-import)")  # the data-entry menu
    page.click("a.dropdown-item[href='/imports/']")
    page.click("[data-testid=new-import]")
    page.select_option("select[name=kind]", "customers")
    page.set_input_files("input[name=file]", str(source))
    page.fill("input[name=source]", "crm")
    page.check("input[name=mode][value=skip]")
    page.keyboard.press("Enter")  # forms submit from the keyboard
    page.wait_for_selector("[data-testid=mapping-form]")
    assert page.input_value("select[name=column_2]") == "phone"
    assert page.input_value("select[name=column_3]") == "email"
    page.fill("input[name=save_as]", "每周会员")
    page.press("input[name=save_as]", "Enter")

    page.wait_for_selector("[data-testid=preview-table]")
    assert "+8613900000001" in page.text_content("[data-testid=preview-table]")
    assert page.locator("tr[data-row-error='1']").count() == 0  # the bad row is row 42, past the preview

    page.click("[data-testid=dry-run]")
    page.wait_for_selector("[data-testid=import-progress][data-status=queued]")
    run_worker()
    page.wait_for_selector("[data-testid=report-count]", timeout=20000)  # polled to done, page refreshed
    assert page.text_content("[data-testid=count-created]").strip() == "40"
    assert page.text_content("[data-testid=count-errors]").strip() == "1"
    assert "phone_invalid" in page.text_content("[data-testid=report]")
    assert Customer.objects.count() == 0
    with page.expect_download() as download:
        page.click("[data-testid=download-report]")
    assert Path(download.value.path()).read_bytes().startswith(b"\xef\xbb\xbfrow,column,code,message")

    page.click("[data-testid=run-import]")
    page.wait_for_selector("[data-testid=import-progress][data-status=queued]")
    assert page.is_visible("[data-testid=cancel]")
    run_worker()
    page.wait_for_selector("[data-testid=job-status][data-status=succeeded]", timeout=20000)
    assert page.get_attribute("[data-testid=import-progress] .progress", "aria-valuenow") == "100"
    assert Customer.objects.count() == 40
    job = ImportJob.objects.get(dry_run=False)
    assert job.status == JobStatus.SUCCEEDED

    page.click(".breadcrumb a[href='/imports/']")
    page.wait_for_selector("[data-testid=history]")
    assert "会员名单.csv" in page.text_content("[data-testid=history]")
    page.click(f"[data-testid=history] a[href='/imports/jobs/{job.pk}/'] >> nth=0")
    page.click("[data-testid=revert]")
    page.click("[data-testid=confirm-revert]")
    page.wait_for_selector("[data-testid=job-status][data-status=reverted]")
    assert Customer.objects.count() == 0
    job.refresh_from_db()
    assert job.status == JobStatus.REVERTED
