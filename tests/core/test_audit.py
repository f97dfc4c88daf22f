from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from kehu.privacy.actions import do_audit
from kehu.privacy.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_it_refuses_to_change_or_delete_audit_events_through_the_orm(users):
    event = do_audit(users["admin"], "view", "customer", 1)
    event.action = "update"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
    with pytest.raises(ValueError):
        AuditEvent.objects.all().update(action="update")
    with pytest.raises(ValueError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().action == "view"


def test_it_refuses_raw_sql_updates_in_the_database(users):
    do_audit(users["admin"], "view", "customer", 1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE privacy_auditevent SET action = 'update'")
    assert AuditEvent.objects.get().action == "view"


def test_it_refuses_raw_sql_deletes_on_postgresql(users):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite refuses deletes in the ORM only (see migration privacy 0002)")
    do_audit(users["admin"], "view", "customer", 1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM privacy_auditevent")
    assert AuditEvent.objects.count() == 1
