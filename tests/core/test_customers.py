from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from kehu.customers.actions import check_create_customer, check_update_customer
from kehu.customers.models import Customer, CustomerIdentity, SearchToken
from kehu.privacy.models import AuditEvent
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def test_it_creates_a_customer_with_normalised_identities(users):
    customer = check_create_customer(
        users["sales"], {"name": " 张伟 ", "phone": "138 0013 8000", "email": "ZW@Example.com"}
    )
    assert customer.name == "张伟"
    assert sorted(customer.identities.values_list("kind", "value")) == [
        ("email", "zw@example.com"),
        ("phone", "+8613800138000"),
    ]
    event = AuditEvent.objects.get(object_type="customer", object_id=str(customer.pk))
    assert (event.action, event.actor, event.after["name"]) == ("create", users["sales"], "张伟")
    assert list(SearchToken.objects.filter(customer=customer).values_list("token", flat=True)) == ["张伟"]


def test_it_names_the_field_for_bad_phone_and_email(users):
    with pytest.raises(ValidationError) as info:
        check_create_customer(users["sales"], {"name": "李娜", "phone": "12345", "email": "nope"})
    assert set(info.value.message_dict) == {"phone", "email"}
    assert not Customer.objects.exists()


def test_it_refuses_a_phone_that_belongs_to_another_customer(users):
    make_customer("张伟", phone="13800138000")
    with pytest.raises(ValidationError) as info:
        check_create_customer(users["sales"], {"name": "张伟二", "phone": "+86 138-0013-8000"})
    assert "phone" in info.value.message_dict
    assert Customer.objects.count() == 1
    assert CustomerIdentity.objects.count() == 1


def test_it_audits_changes_with_before_and_after(users):
    customer = make_customer("王芳", phone="13900139000")
    check_update_customer(users["service"], customer, {"name": "王芳芳", "gender": "F"})
    event = AuditEvent.objects.filter(action="update").get()
    assert event.before == {"name": "王芳", "gender": ""}
    assert event.after == {"name": "王芳芳", "gender": "F"}
    assert set(SearchToken.objects.filter(customer=customer).values_list("token", flat=True)) == {"王芳", "芳芳"}


def test_it_ignores_protected_fields_posted_with_a_change(users):
    customer = make_customer("赵磊")
    check_update_customer(
        users["service"], customer, {"name": "赵磊", "order_count": 99, "total_spent": "1e9", "id": 12345}
    )
    customer.refresh_from_db()
    assert (customer.pk, customer.order_count, str(customer.total_spent)) != (12345, 99, "1e9")
    assert customer.order_count == 0
    assert not AuditEvent.objects.filter(action="update").exists()


def test_it_refuses_a_birthday_in_the_future(users):
    with pytest.raises(ValidationError) as info:
        check_create_customer(users["sales"], {"name": "钱多多", "birthday": "2999-01-01"})
    assert "birthday" in info.value.message_dict
