from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from kehu.accounts.models import User
from kehu.commerce.models import Order
from kehu.customers.models import Customer
from kehu.identity.models import DuplicateSuggestion
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
    # Look-alike registrations wait in the review queue.
    planted = Customer.objects.filter(identities__kind="member_card", identities__value__startswith="POS")
    assert planted.count() == 3
    pairs = set(DuplicateSuggestion.objects.filter(status="pending").values_list("customer_a_id", "customer_b_id"))
    for pk, card in planted.values_list("pk", "identities__value"):
        original = int(card.removeprefix("POS"))  # the card number carries the original's id
        assert tuple(sorted((pk, original))) in pairs
    # Again: no new data, no new runs, the same password.
    again = StringIO()
    call_command("demo_setup", customers=300, stdout=again)
    assert f"admin  /  {password}" in again.getvalue()
    assert Order.objects.count() == orders
    assert ScoringRun.objects.count() == 3
    assert planted.count() == 3
