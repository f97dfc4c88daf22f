"""A table added later by another app follows merges with no change to the identity app: a
ticket-like model with a protected foreign key to Customer is created for this test only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models

from kehu.customers.models import Customer
from kehu.identity.actions import check_merge, check_unmerge
from kehu.identity.merging import customer_relations
from tests.identity.helpers import diff, dump_all, rich_customer


@pytest.fixture
def ticket_model(transactional_db: Any) -> Iterator[type[models.Model]]:
    class LaterTicket(models.Model):
        customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
        subject = models.CharField(max_length=50)
        opened_at = models.DateTimeField(auto_now_add=True)

        class Meta:
            app_label = "customers"
            db_table = "test_identity_later_ticket"

    apps.clear_cache()
    with connection.schema_editor() as editor:
        editor.create_model(LaterTicket)
    try:
        yield LaterTicket
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(LaterTicket)
        del apps.all_models["customers"]["laterticket"]
        apps.clear_cache()


def test_a_later_apps_table_follows_merge_and_unmerge(ticket_model: type[models.Model], users: dict[str, Any]) -> None:
    assert "customers.laterticket" in {r.label for r in customer_relations()}
    survivor, absorbed = rich_customer("张伟", orders=1), rich_customer("张伟", orders=1)
    tickets = [ticket_model.objects.create(customer=absorbed, subject=f"退货 {i}") for i in range(3)]
    before = dump_all()
    record = check_merge(users["admin"], survivor.pk, absorbed.pk)
    assert set(ticket_model.objects.filter(customer=survivor).values_list("pk", flat=True)) == {t.pk for t in tickets}
    check_unmerge(users["admin"], record.pk)
    assert diff(before, dump_all()) == []
