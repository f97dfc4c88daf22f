"""Grid entry in a real browser (Debian's Chromium): a month of 200 stores × 10 product models
pasted from Excel as one tab-separated block and saved in one action; bad cells shown in red and
nothing typed lost; the targets sheet."""

from __future__ import annotations

import datetime as dt
import os
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kehu.accounts.models import Role
from kehu.sales.actions import check_save_store_sales
from kehu.sales.cells import parse_amount, parse_quantity, show
from kehu.sales.models import SalesTarget, StoreMonthlySales
from tests.factories import PASSWORD, make_user
from tests.sales.helpers import make_stores_and_products

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MONTH = dt.date(2026, 11, 1)
SHOTS = os.environ.get("KEHU_SCREENSHOTS")


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def log_in(page: Any, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def open_grid(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#grid[data-ready=true]")


def cell_selector(row: int, field: str) -> str:
    return f'.tabulator-row:nth-child({row}) .tabulator-cell[tabulator-field="{field}"]'


def paste(page: Any, text: str) -> None:
    """Paste as Excel does: the clipboard holds tab-separated rows ending in CRLF, and Ctrl+V in
    the grid fires a trusted paste event."""
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.keyboard.press("Control+V")


def save(page: Any, *, shortcut: bool = False) -> None:
    """Click Save (or press Ctrl+S), wait for the confirmation and for the summary and charts
    redrawn from it."""
    refreshed = int(page.evaluate("document.documentElement.dataset.chartsRefreshed || 0"))
    if shortcut:
        page.keyboard.press("Control+s")
    else:
        page.click("[data-testid=grid-save]")
    page.wait_for_selector("[data-testid=grid-status].text-success")
    page.wait_for_function("n => Number(document.documentElement.dataset.chartsRefreshed || 0) > n", arg=refreshed)


def unsaved(page: Any) -> int:
    return int(page.get_attribute("#grid", "data-unsaved") or 0)


@pytest.fixture
def page(browser: Any, _file_database: None) -> Any:
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1440, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    page.set_default_timeout(30000)
    yield page
    context.close()


def test_it_saves_a_month_of_200_stores_by_10_models_pasted_from_excel_in_one_action(
    live_server: Any, page: Any
) -> None:
    stores, products = make_stores_and_products(200, 10)
    make_user(Role.SALES, username="zhang.li")
    block = [[f"{i + 1}{j}.{(i * 7 + j) % 100:02d}" for j in range(10)] for i in range(200)]
    block[0][0] = "1,234.50"  # as Excel copies a formatted figure
    text = "\r\n".join("\t".join(row) for row in block) + "\r\n"

    log_in(page, live_server, "zhang.li")
    open_grid(page, f"{live_server.url}/sales/store-sales/?month=2026-11")
    assert page.locator(".tabulator-row").count() < 200  # rows are rendered virtually

    page.click(cell_selector(1, f"{products[0].pk}:amount"))
    paste(page, text)
    assert unsaved(page) == 2000
    assert page.is_visible("[data-testid=grid-unsaved]")
    assert page.get_attribute("#grid", "data-unsaved") == "2000"
    shot(page, "grid-store-sales-pasted")

    started = time.perf_counter()
    page.click("[data-testid=grid-save]")
    page.wait_for_selector("[data-testid=grid-status].text-success")
    elapsed = time.perf_counter() - started
    server = page.get_attribute("#grid", "data-server-seconds")
    print(f"\nsaved 2,000 pasted cells in {elapsed:.2f} s from click to confirmation ({server} s on the server)")

    assert unsaved(page) == 0
    saved = {(row.store_id, row.product_id): row.amount for row in StoreMonthlySales.objects.filter(month=MONTH)}
    assert len(saved) == 2000
    expected = {
        (stores[i].pk, products[j].pk): Decimal(block[i][j].replace(",", "")) for i in range(200) for j in range(10)
    }
    assert saved == expected
    assert StoreMonthlySales.objects.filter(quantity__isnull=False).count() == 0
    # The summary and charts were refreshed from the saved figures.
    page.wait_for_function("() => document.documentElement.dataset.chartsRefreshed === '1'")
    assert page.text_content("[data-testid=kpi-amount]").strip() == f"¥{sum(expected.values()):,.2f}"
    shot(page, "grid-store-sales-saved")


def test_it_marks_bad_cells_red_and_loses_nothing_typed(live_server: Any, page: Any) -> None:
    stores, products = make_stores_and_products(3, 2)
    make_user(Role.ADMIN, username="admin")
    log_in(page, live_server, "admin")
    open_grid(page, f"{live_server.url}/sales/store-sales/?month=2026-11&measure=both")
    first_qty = f"{products[0].pk}:quantity"

    # A pasted block with a negative figure, three decimals and text: red at once, not saved.
    page.click(cell_selector(1, first_qty))
    paste(page, "5\t-1\t2\t3.5\r\n1.5\t12.345\tabc\t4\r\n")
    assert page.locator(".kehu-cell-invalid").count() == 4
    page.click("[data-testid=grid-save]")
    assert page.get_attribute("[data-testid=grid-status]", "class").endswith("text-danger")
    assert StoreMonthlySales.objects.count() == 0

    # Fix them from the keyboard: type over the cell, Enter moves down.
    page.click(cell_selector(1, f"{products[0].pk}:amount"))
    page.keyboard.type("10")
    page.keyboard.press("Enter")
    page.keyboard.type("12.34")
    page.keyboard.press("Enter")
    page.click(cell_selector(2, first_qty))
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    page.click(cell_selector(2, f"{products[1].pk}:quantity"))
    page.keyboard.press("Delete")
    assert page.locator(".kehu-cell-invalid").count() == 0
    shot(page, "grid-store-sales-fixed")

    # Meanwhile a colleague saves a figure the grid still shows as empty.
    check_save_store_sales(
        make_user(Role.SALES, username="colleague"),
        MONTH,
        [{"row": stores[2].pk, "col": products[0].pk, "field": "quantity", "value": "9"}],
    )
    page.click(cell_selector(3, first_qty))
    page.keyboard.type("7")
    page.keyboard.press("Enter")
    page.click("[data-testid=grid-save]")
    page.wait_for_selector("[data-testid=grid-status].text-danger")
    invalid = page.locator(".kehu-cell-invalid")
    assert invalid.count() == 1
    assert "9" in invalid.get_attribute("title")
    assert invalid.text_content() == "7"  # what was typed is still there
    assert StoreMonthlySales.objects.count() == 1  # nothing of this save was written
    shot(page, "grid-store-sales-conflict")

    # Ctrl+D copies the first row of a selection down; then everything saves.
    page.click(cell_selector(3, first_qty))
    page.keyboard.type("9")
    page.keyboard.press("Enter")
    page.click(cell_selector(1, f"{products[1].pk}:amount"))
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Control+d")
    save(page)
    figures = {
        (r.store_id, r.product_id): (r.quantity, r.amount) for r in StoreMonthlySales.objects.filter(month=MONTH)
    }
    assert figures == {
        (stores[0].pk, products[0].pk): (5, Decimal("10.00")),
        (stores[0].pk, products[1].pk): (2, Decimal("3.50")),
        (stores[1].pk, products[0].pk): (2, Decimal("12.34")),
        (stores[1].pk, products[1].pk): (None, Decimal("3.50")),
        (stores[2].pk, products[0].pk): (9, None),
        (stores[2].pk, products[1].pk): (None, Decimal("3.50")),
    }


def test_it_sets_a_years_targets_for_salespersons_in_one_save(live_server: Any, page: Any) -> None:
    people = [make_user(Role.SALES, username=f"rep{i}") for i in range(1, 4)]
    make_user(Role.ADMIN, username="admin")
    log_in(page, live_server, "admin")
    open_grid(page, f"{live_server.url}/sales/targets/?year=2026")
    page.click(cell_selector(1, "1:target"))
    rows = ["\t".join(f"{(p + 1) * 10000 + m}" for m in range(12)) for p in range(3)]
    paste(page, "\r\n".join(rows) + "\r\n")
    assert unsaved(page) == 36
    # Ctrl+S while still typing in a cell saves that figure too.
    page.click(cell_selector(3, "12:target"))
    page.keyboard.type("45678.9")
    save(page, shortcut=True)
    shot(page, "grid-targets")
    assert SalesTarget.objects.count() == 36
    assert SalesTarget.objects.get(salesperson=people[1], month=dt.date(2026, 3, 1)).amount == Decimal("20002.00")
    assert SalesTarget.objects.get(salesperson=people[2], month=dt.date(2026, 12, 1)).amount == Decimal("45678.90")


CELL_INPUTS = [
    "",
    " ",
    "0",
    "007",
    "12",
    "-0",
    "-1",
    "1.5",
    "1,200",
    "１２",
    "¥1,234.50",
    "￥ 99",
    "12.340",
    ".5",
    "12.",
    "-.5",
    "12.345",
    "-0.01",
    "-0.00",
    "12元",
    "NaN",
    "1e5",
    "1.2.3",
    "abc",
    "3000000000",
    "2000000000",
    "999999999999.99",
    "1000000000000",
    "1\u00a0000",
    "0012.10",
]


def test_the_browser_reads_cells_exactly_as_the_server_does(live_server: Any, page: Any) -> None:
    make_stores_and_products(1, 1)
    make_user(Role.ADMIN, username="admin")
    log_in(page, live_server, "admin")
    open_grid(page, f"{live_server.url}/sales/store-sales/")
    for measure, parse in (("quantity", parse_quantity), ("amount", parse_amount)):
        browser = page.evaluate("([m, inputs]) => inputs.map(x => window.kehuCellRules[m](x))", [measure, CELL_INPUTS])
        for raw, seen in zip(CELL_INPUTS, browser, strict=True):
            expected = parse(raw)
            assert seen.get("error") == expected.error, (measure, raw, seen)
            if not expected.error:
                assert seen["value"] == show(expected.value), (measure, raw, seen)
