from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from kehu.accounts.models import User
from kehu.commerce.models import Order
from kehu.scoring.models import CustomerScore, RunStatus, ScoringRun

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_sets_up_a_scored_demo_once_and_prints_a_login_that_works(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("demo_setup", customers=300, stdout=out)
    password = (tmp_path / ".demo-password").read_text().strip()
    assert f"admin  /  {password}" in out.getvalue()
    assert User.objects.get(username="admin").check_password(password)
    orders = Order.objects.count()
    assert orders > 0
    assert list(ScoringRun.objects.values_list("status", flat=True)) == [RunStatus.SUCCEEDED] * 3
    assert CustomerScore.objects.exists()
    # Again: no new data, no new runs, the same password.
    again = StringIO()
    call_command("demo_setup", customers=300, stdout=again)
    assert f"admin  /  {password}" in again.getvalue()
    assert Order.objects.count() == orders
    assert ScoringRun.objects.count() == 3
