"""Reverting an import whose customers were merged away since is refused and changes nothing;
once the merge is undone, the import reverts as usual."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kehu.customers.models import Customer, CustomerIdentity
from kehu.identity.actions import check_merge, check_unmerge
from kehu.imports.actions import RevertRefused, check_revert_import
from kehu.imports.models import JobStatus
from tests.factories import make_customer, make_user
from tests.imports.conftest import run, write_csv


@pytest.mark.django_db
def test_an_import_whose_customer_was_merged_away_is_not_reverted(tmp_path: Path, ref: dict[str, Any]) -> None:
    admin = make_user("admin", username="merger")
    survivor = make_customer("王芳", phone="13800138000")
    path = write_csv(tmp_path / "c.csv", [["客户编号", "姓名", "手机号"], ["C1", "王芳", "13900139000"]])
    job = run("customers", path, source="crm")
    imported = Customer.objects.get(source_system="crm", source_id="C1")
    merge = check_merge(admin, survivor.pk, imported.pk)
    before = sorted(CustomerIdentity.objects.values_list("customer_id", "kind", "value"))

    with pytest.raises(RevertRefused, match=str(imported.pk)):
        check_revert_import(admin, job)

    job.refresh_from_db()
    assert job.status != JobStatus.REVERTED
    assert sorted(CustomerIdentity.objects.values_list("customer_id", "kind", "value")) == before
    assert Customer.objects.filter(pk=survivor.pk).exists()

    check_unmerge(admin, merge.pk)
    check_revert_import(admin, job)
    job.refresh_from_db()
    assert job.status == JobStatus.REVERTED
    assert not Customer.objects.filter(pk=imported.pk).exists()
    assert list(Customer.objects.values_list("pk", flat=True)) == [survivor.pk]
    assert list(survivor.identities.values_list("value", flat=True)) == ["+8613800138000"]
