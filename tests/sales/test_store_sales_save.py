"""Saving the store-sales grid: all cells or none, per-cell errors, store scope, history,
bounded queries for 2,000 cells, and idempotent re-saves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from kehu.accounts.models import Role
from kehu.privacy.models import AuditEvent
from kehu.sales.actions import check_save_store_sales
from kehu.sales.models import FigureChange, Sheet, StoreMonthlySales
from tests.sales.helpers import MONTH, make_stores_and_products, post_json

pytestmark = pytest.mark.django_db
URL = "sales-store-sales-save"


def cell(store: Any, product: Any, field: str, value: str, **extra: Any) -> dict[str, Any]:
    return {"row": store.pk, "col": product.pk, "field": field, "value": value, **extra}


def figures() -> dict[tuple[str, str], tuple[int | None, Decimal | None]]:
    return {
        (row.store.code, row.product.sku): (row.quantity, row.amount)
        for row in StoreMonthlySales.objects.select_related("store", "product")
    }


def test_it_saves_every_changed_cell_in_one_request(client: Any, ref: Any, users: Any) -> None:
    sh, bj = ref["stores"]["sh-01"], ref["stores"]["bj-01"]
    shirt, coat = ref["products"]["M-SHIRT-01"], ref["products"]["M-COAT-01"]
    client.force_login(users["admin"])
    response = post_json(
        client,
        reverse(URL),
        {
            "month": "2026-11",
            "cells": [
                cell(sh, shirt, "quantity", "12"),
                cell(sh, shirt, "amount", "3,588.00"),
                cell(bj, coat, "amount", "1299.5"),
            ],
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["changed"] == 3
    assert figures() == {
        ("sh-01", "M-SHIRT-01"): (12, Decimal("3588.00")),
        ("bj-01", "M-COAT-01"): (None, Decimal("1299.50")),
    }
    row = StoreMonthlySales.objects.get(store=sh, product=shirt)
    assert row.month == dt.date(2026, 11, 1)
    assert row.entered_by == users["admin"]
    history = FigureChange.objects.filter(sheet=Sheet.STORE_SALES)
    assert sorted((c.row_id, c.column_id, c.field, c.before, c.after) for c in history) == sorted(
        [
            (sh.pk, shirt.pk, "quantity", "", "12"),
            (sh.pk, shirt.pk, "amount", "", "3588.00"),
            (bj.pk, coat.pk, "amount", "", "1299.50"),
        ]
    )
    audit = AuditEvent.objects.get(object_type="sales.store_sales")
    assert audit.actor == users["admin"]
    assert audit.object_id == "2026-11-01"
    assert audit.after["cells"] == 3


def test_it_saves_nothing_when_any_cell_is_invalid_and_names_each_bad_cell(client: Any, ref: Any, users: Any) -> None:
    sh, hz = ref["stores"]["sh-01"], ref["stores"]["hz-01"]
    shirt, coat = ref["products"]["M-SHIRT-01"], ref["products"]["M-COAT-01"]
    client.force_login(users["sales"])
    response = post_json(
        client,
        reverse(URL),
        {
            "month": "2026-11",
            "cells": [
                cell(sh, shirt, "amount", "100.00"),  # valid, but must not be saved alone
                cell(sh, coat, "amount", "-5"),
                cell(hz, shirt, "quantity", "1.5"),
                cell(hz, coat, "amount", "12.345"),
                cell(hz, coat, "quantity", "abc"),
            ],
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False
    errors = {(e["row"], e["col"], e["field"]): e["message"] for e in body["errors"]}
    assert errors == {
        (sh.pk, coat.pk, "amount"): "Must not be negative.",
        (hz.pk, shirt.pk, "quantity"): "Enter a whole number of units.",
        (hz.pk, coat.pk, "amount"): "At most 2 decimal places.",
        (hz.pk, coat.pk, "quantity"): "Enter a number.",
    }
    assert StoreMonthlySales.objects.count() == 0
    assert FigureChange.objects.count() == 0
    assert not AuditEvent.objects.filter(object_type="sales.store_sales").exists()


def test_it_refuses_a_store_manager_writing_another_stores_row_and_changes_nothing(
    client: Any, ref: Any, users: Any
) -> None:
    sh, bj = ref["stores"]["sh-01"], ref["stores"]["bj-01"]
    shirt = ref["products"]["M-SHIRT-01"]
    check_save_store_sales(users["admin"], MONTH, [cell(bj, shirt, "amount", "500.00")])
    before = figures()
    client.force_login(users["store_manager"])  # manages sh-01 only
    response = post_json(
        client,
        reverse(URL),
        {"month": "2026-11", "cells": [cell(sh, shirt, "amount", "100.00"), cell(bj, shirt, "amount", "1.00")]},
    )
    assert response.status_code == 403
    assert figures() == before
    assert FigureChange.objects.count() == 1


def test_it_lets_a_store_manager_save_their_own_stores(client: Any, ref: Any, users: Any) -> None:
    sh, shirt = ref["stores"]["sh-01"], ref["products"]["M-SHIRT-01"]
    client.force_login(users["store_manager"])
    response = post_json(client, reverse(URL), {"month": "2026-11", "cells": [cell(sh, shirt, "quantity", "3")]})
    assert response.status_code == 200
    assert figures() == {("sh-01", "M-SHIRT-01"): (3, None)}


def test_it_reports_unknown_stores_and_products_as_cell_errors(client: Any, ref: Any, users: Any) -> None:
    sh, shirt = ref["stores"]["sh-01"], ref["products"]["M-SHIRT-01"]
    client.force_login(users["admin"])
    response = post_json(
        client,
        reverse(URL),
        {
            "month": "2026-11",
            "cells": [
                {"row": 999999, "col": shirt.pk, "field": "amount", "value": "1"},
                {"row": sh.pk, "col": 999999, "field": "amount", "value": "1"},
            ],
        },
    )
    assert response.status_code == 400
    assert sorted(e["message"] for e in response.json()["errors"]) == ["No such product.", "No such store."]
    assert StoreMonthlySales.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"month": "2026-13", "cells": []}',
        b'{"month": "2026-11"}',
        b'{"month": "2026-11", "cells": [1]}',
        b'{"month": "2026-11", "cells": [{"row": 1, "col": 1, "field": "price", "value": "1"}]}',
        b'{"month": "2026-11", "cells": [{"row": "x", "col": 1, "field": "amount", "value": "1"}]}',
    ],
)
def test_it_answers_malformed_requests_with_a_clear_400(client: Any, ref: Any, users: Any, body: bytes) -> None:
    client.force_login(users["admin"])
    response = client.post(reverse(URL), data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"]
    assert StoreMonthlySales.objects.count() == 0


def test_it_refuses_more_cells_than_one_save_may_carry(client: Any, ref: Any, users: Any) -> None:
    client.force_login(users["admin"])
    sh, shirt = ref["stores"]["sh-01"], ref["products"]["M-SHIRT-01"]
    cells = [cell(sh, shirt, "amount", "1")] * 20_001
    response = post_json(client, reverse(URL), {"month": "2026-11", "cells": cells})
    assert response.status_code == 400
    assert "Too many cells" in response.json()["message"]


def test_it_refuses_a_cell_sent_twice(client: Any, ref: Any, users: Any) -> None:
    client.force_login(users["admin"])
    sh, shirt = ref["stores"]["sh-01"], ref["products"]["M-SHIRT-01"]
    response = post_json(
        client,
        reverse(URL),
        {"month": "2026-11", "cells": [cell(sh, shirt, "amount", "1"), cell(sh, shirt, "amount", "2")]},
    )
    assert response.status_code == 400
    assert StoreMonthlySales.objects.count() == 0


def test_it_clears_figures_and_drops_rows_left_empty(ref: Any, users: Any) -> None:
    sh, shirt = ref["stores"]["sh-01"], ref["products"]["M-SHIRT-01"]
    admin = users["admin"]
    check_save_store_sales(admin, MONTH, [cell(sh, shirt, "quantity", "2"), cell(sh, shirt, "amount", "598")])
    result = check_save_store_sales(admin, MONTH, [cell(sh, shirt, "amount", "")])
    assert result.ok and result.changed == 1
    assert figures() == {("sh-01", "M-SHIRT-01"): (2, None)}
    check_save_store_sales(admin, MONTH, [cell(sh, shirt, "quantity", " ")])
    assert figures() == {}
    assert [(c.field, c.before, c.after) for c in FigureChange.objects.order_by("id")][-2:] == [
        ("amount", "598.00", ""),
        ("quantity", "2", ""),
    ]


def test_it_refuses_a_cell_someone_else_changed_since_the_grid_was_loaded(ref: Any, users: Any) -> None:
    sh, shirt = ref["stores"]["sh-01"], ref["products"]["M-SHIRT-01"]
    check_save_store_sales(users["admin"], MONTH, [cell(sh, shirt, "amount", "100")])
    # The sales user loaded the grid when the cell was empty, then someone saved 100.
    result = check_save_store_sales(
        users["sales"],
        MONTH,
        [cell(sh, shirt, "amount", "150", was=""), cell(sh, shirt, "quantity", "1", was="")],
    )
    assert not result.ok
    assert [(e.field, e.message) for e in result.errors] == [
        ("amount", "Changed by someone else since you opened the grid (now 100.00). Reload to see it.")
    ]
    assert figures() == {("sh-01", "M-SHIRT-01"): (None, Decimal("100.00"))}
    # Knowing the current figure, the same change goes through.
    assert check_save_store_sales(users["sales"], MONTH, [cell(sh, shirt, "amount", "150", was="100.00")]).ok


def grid_cells(stores: list[Any], products: list[Any], value: str) -> list[dict[str, Any]]:
    return [
        {"row": s.pk, "col": p.pk, "field": "amount", "value": f"{value}{i}.{j % 100:02d}"}
        for i, s in enumerate(stores)
        for j, p in enumerate(products)
    ]


def query_budget() -> int:
    """Queries allowed for a 2,000-cell save: a handful of reads, the audit entry, and the bulk
    inserts, which Django splits into batches of 500 rows on PostgreSQL but of 999 parameters
    (about 110-140 rows) on SQLite. Never one query per cell."""
    return 45 if connection.vendor == "sqlite" else 16


def test_it_saves_2000_cells_with_a_bounded_number_of_queries(
    db: Any, users: Any, django_assert_max_num_queries: Any
) -> None:
    stores, products = make_stores_and_products(200, 10)
    cells = grid_cells(stores, products, "1")
    with django_assert_max_num_queries(query_budget()):
        result = check_save_store_sales(users["admin"], MONTH, cells)
    assert result.ok and result.changed == 2000
    assert StoreMonthlySales.objects.filter(month=MONTH).count() == 2000
    # Changing every figure (an update of existing rows) is just as bounded.
    with django_assert_max_num_queries(query_budget()):
        result = check_save_store_sales(users["admin"], MONTH, grid_cells(stores, products, "2"))
    assert result.ok and result.changed == 2000
    assert StoreMonthlySales.objects.get(store=stores[3], product=products[4]).amount == Decimal("23.04")
    assert FigureChange.objects.count() == 4000


def test_it_changes_nothing_when_the_same_grid_is_saved_again(client: Any, users: Any) -> None:
    stores, products = make_stores_and_products(20, 10)
    cells = grid_cells(stores, products, "7")
    client.force_login(users["admin"])
    first = post_json(client, reverse(URL), {"month": "2026-11", "cells": cells})
    assert first.status_code == 200 and first.json()["changed"] == 200
    snapshot = list(StoreMonthlySales.objects.order_by("pk").values_list("pk", "amount", "updated_at"))
    audits = AuditEvent.objects.count()
    # The browser retries the same request (say, the first answer was lost on the way).
    again = post_json(client, reverse(URL), {"month": "2026-11", "cells": [{**c, "was": ""} for c in cells]})
    assert again.status_code == 200
    assert again.json() == {**again.json(), "changed": 0, "unchanged": 200}
    assert list(StoreMonthlySales.objects.order_by("pk").values_list("pk", "amount", "updated_at")) == snapshot
    assert FigureChange.objects.count() == 200
    assert AuditEvent.objects.count() == audits


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ADMIN, True),
        (Role.SALES, True),
        (Role.STORE_MANAGER, True),
        (Role.MARKETING, False),
        (Role.SERVICE, False),
        (Role.ANALYST, False),
    ],
)
def test_role_matrix_for_store_sales(client: Any, ref: Any, users: Any, role: str, allowed: bool) -> None:
    sh, shirt = ref["stores"]["sh-01"], ref["products"]["M-SHIRT-01"]
    client.force_login(users[role])
    page = client.get(reverse("sales-store-sales"), {"month": "2026-11"})
    assert page.status_code == (200 if allowed else 403)
    targets = client.get(reverse("sales-targets"))
    assert targets.status_code == (200 if allowed else 403)
    save = post_json(client, reverse(URL), {"month": "2026-11", "cells": [cell(sh, shirt, "amount", "10")]})
    assert save.status_code == (200 if allowed else 403)
    assert StoreMonthlySales.objects.count() == (1 if allowed else 0)
    nav = client.get(reverse("home"))
    assert (b'href="/sales/store-sales/"' in nav.content) is allowed


def test_anonymous_users_are_sent_to_log_in(client: Any, ref: Any) -> None:
    response = post_json(client, reverse(URL), {"month": "2026-11", "cells": []})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
