from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import IntegrityError

from kehu.customers.models import Customer
from tests.factories import make_customer


@pytest.mark.django_db(transaction=True)
def test_it_restores_exactly_what_was_backed_up(tmp_path):
    kept = make_customer("备份前", phone="13800138000")
    target = tmp_path / "kehu.backup"
    call_command("backup", str(target))
    assert target.stat().st_size > 0
    make_customer("备份后")
    kept.name = "改过"
    kept.save()
    call_command("restore", str(target), "--yes")
    assert list(Customer.objects.values_list("name", flat=True)) == ["备份前"]
    assert Customer.objects.get().identities.get().value == "+8613800138000"


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_restore_a_file_that_is_not_a_backup(tmp_path):
    make_customer("留下")
    bogus = tmp_path / "not-a-backup"
    bogus.write_text("hello")
    with pytest.raises(CommandError):
        call_command("restore", str(bogus), "--yes")
    with pytest.raises(CommandError):
        call_command("restore", str(tmp_path / "missing"), "--yes")
    assert list(Customer.objects.values_list("name", flat=True)) == ["留下"]


@pytest.mark.django_db
def test_it_reports_and_repairs_drifted_purchase_figures(ref, capsys):
    customer = make_customer("对账")
    Customer.objects.filter(pk=customer.pk).update(order_count=7)
    call_command("reconcile")
    assert "1 customers drifted, repaired" in capsys.readouterr().out
    customer.refresh_from_db()
    assert customer.order_count == 0


@pytest.mark.django_db
def test_it_reports_health_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_it_passes_the_deployment_checks_with_production_settings(tmp_path):
    import os
    import secrets
    import subprocess
    import sys

    env = {
        **os.environ,
        "KEHU_VAR_DIR": str(tmp_path),
        "KEHU_SECURE": "1",
        "KEHU_SECRET_KEY": secrets.token_urlsafe(64),
        "KEHU_ALLOWED_HOSTS": "crm.example.com",
        "KEHU_DEBUG": "0",
    }
    # The browser tests allow Django's sync calls inside Playwright's event loop; a deployment never does.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [sys.executable, "-m", "kehu.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.skipif(not settings.IS_POSTGRES, reason="the grade snapshots are partitioned on PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_it_restores_the_grade_snapshots_partitions(tmp_path):
    """A scoring run's snapshot partition survives a backup and a restore over a changed database
    (`pg_restore --clean` cannot drop a partition's inherited key constraint: the keys are indexes)."""
    from django.db import connection, transaction

    from kehu.scoring.models import GradeSnapshot, ScoringRun
    from kehu.scoring.writeback import write_run_partition

    customer = make_customer("快照")
    run = ScoringRun.objects.create(cutoff=dt.date(2026, 6, 30))
    columns = ["run_id", "customer_id", "cutoff", "r_grade", "f_grade", "m_grade", "tier", "lifecycle_stage"]
    with transaction.atomic(), connection.cursor() as cursor:
        select = "SELECT %s, %s, %s, 'A', 'B', 'C', 'gold', 'stability'"
        write_run_partition(cursor, "scoring_gradesnapshot", run.pk, columns, select, [run.pk, customer.pk, run.cutoff])
    target = tmp_path / "kehu.backup"
    call_command("backup", str(target))
    GradeSnapshot.objects.filter(run=run).update(tier="bronze")
    call_command("restore", str(target), "--yes")
    snapshot = GradeSnapshot.objects.get()
    assert (snapshot.customer_id, snapshot.tier) == (customer.pk, "gold")
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM scoring_gradesnapshot")
        assert cursor.fetchone()[0] == f"scoring_gradesnapshot_run_{run.pk}"
    # The keys still hold after the restore.
    with pytest.raises(IntegrityError), transaction.atomic():
        GradeSnapshot.objects.create(run=run, customer=customer, cutoff=run.cutoff)
