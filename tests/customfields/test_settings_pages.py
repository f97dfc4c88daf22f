"""The settings pages: role matrix, create/edit/reorder/archive, the rules that protect stored
data, and the audit trail."""

from __future__ import annotations

import pytest
from django.test import Client

from kehu.customfields.models import FieldDefinition
from kehu.privacy.models import AuditEvent
from tests.customfields.conftest import LEVELS, define
from tests.factories import make_customer

ROLES = ["admin", "marketing", "sales", "service", "store_manager", "analyst"]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(**extra):
    data = {
        "entity": "customer", "label_zh": "会员级别", "label_en": "Level", "key": "level", "type": "choice",
        "choices": "gold | 金卡 | Gold\nsilver | 银卡 | Silver", "help_text": "", "required": "", "show_in_list": "on",
        "is_personal": "",
    }  # fmt: skip
    data.update(extra)
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_only_admins_reach_the_settings_pages_and_refusals_change_nothing(users, role):
    definition = define(key="level", type="choice", choices=LEVELS)
    client = client_for(users[role])
    audit_before = AuditEvent.objects.count()
    allowed = role == "admin"
    responses = [
        client.get("/settings/fields/"),
        client.get("/settings/fields/new/?entity=customer"),
        client.get(f"/settings/fields/{definition.pk}/"),
        client.post("/settings/fields/new/", form_data(key="other")),
        client.post(f"/settings/fields/{definition.pk}/", form_data(label_zh="改名")),
        client.post(f"/settings/fields/{definition.pk}/move/", {"direction": "up"}),
        client.post(f"/settings/fields/{definition.pk}/active/", {"active": "0"}),
    ]
    if allowed:
        assert [r.status_code for r in responses] == [200, 200, 200, 302, 302, 302, 302]
    else:
        assert [r.status_code for r in responses] == [403] * 7
        assert FieldDefinition.objects.count() == 1
        definition.refresh_from_db()
        assert (definition.label_zh, definition.is_active) == ("level", True)
        assert AuditEvent.objects.count() == audit_before


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_log_in(db):
    response = Client().get("/settings/fields/")
    assert response.status_code == 302 and "/accounts/login" in response["Location"]


@pytest.mark.django_db
def test_an_admin_defines_a_field_in_the_ui_and_it_is_audited(users):
    client = client_for(users["admin"])
    response = client.post("/settings/fields/new/", form_data())
    assert response.status_code == 302
    field = FieldDefinition.objects.get()
    assert (field.entity, field.key, field.type, field.show_in_list) == ("customer", "level", "choice", True)
    assert field.choices == [
        {"value": "gold", "zh": "金卡", "en": "Gold"},
        {"value": "silver", "zh": "银卡", "en": "Silver"},
    ]
    event = AuditEvent.objects.get(object_type="custom_field", action="create")
    assert event.actor == users["admin"] and event.after["key"] == "level"
    page = client.get("/settings/fields/")
    assert "Level" in page.content.decode() and "level" in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"key": "Bad Key"}, "key", "Use lower-case letters"),
        ({"choices": ""}, "choices", "Give at least one choice."),
        ({"choices": "gold\ngold"}, "choices", "appears twice"),
        ({"choices": "Gold Card | 金"}, "choices", "use lower-case letters"),
        ({"label_zh": "", "label_en": ""}, "label_zh", "Give a label."),
        ({"type": "colour"}, "type", "Select a valid choice"),
    ],
)
def test_bad_definitions_get_a_clear_error_and_nothing_is_saved(users, data, field, message):
    response = client_for(users["admin"]).post("/settings/fields/new/", form_data(**data))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not FieldDefinition.objects.exists()


@pytest.mark.django_db
def test_a_duplicate_key_is_refused(users):
    define(key="level", type="text")
    response = client_for(users["admin"]).post("/settings/fields/new/", form_data())
    assert response.status_code == 200
    assert "already has a field with the key" in response.context["form"].errors["key"][0]
    assert FieldDefinition.objects.count() == 1


@pytest.mark.django_db
def test_type_and_key_change_freely_until_records_hold_values_then_are_refused(users):
    definition = define(key="level", type="choice", choices=LEVELS)
    client = client_for(users["admin"])
    assert client.post(f"/settings/fields/{definition.pk}/", form_data(type="text", key="grade")).status_code == 302
    definition.refresh_from_db()
    assert (definition.key, definition.type) == ("grade", "text")

    make_customer("甲", phone="13800138000", custom={"grade": "VIP"})
    response = client.post(f"/settings/fields/{definition.pk}/", form_data(type="number", key="grade2"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "type cannot change" in errors["type"][0] and "Archive this field" in errors["type"][0]
    assert "cannot change" in errors["key"][0]
    definition.refresh_from_db()
    assert (definition.key, definition.type) == ("grade", "text")
    assert "already hold values" in response.content.decode()


@pytest.mark.django_db
def test_a_choice_in_use_cannot_be_removed_but_labels_can_change(users):
    definition = define(key="level", type="choice", choices=LEVELS)
    make_customer("甲", phone="13800138000", custom={"level": "silver"})
    client = client_for(users["admin"])
    response = client.post(f"/settings/fields/{definition.pk}/", form_data(choices="gold | 金卡 | Gold"))
    assert "“silver” is used by stored records" in response.context["form"].errors["choices"][0]
    ok = client.post(
        f"/settings/fields/{definition.pk}/", form_data(choices="gold|金|G\nsilver|白银|Silver\nbronze|铜|Bronze")
    )
    assert ok.status_code == 302
    definition.refresh_from_db()
    assert definition.choice_label("silver") == "白银" or definition.choices[1]["zh"] == "白银"


@pytest.mark.django_db
def test_a_multi_choice_in_use_cannot_be_removed(users):
    definition = define(
        key="tags2", type="multi_choice", choices=[{"value": "a", "zh": "A"}, {"value": "ab", "zh": "AB"}]
    )
    make_customer("甲", phone="13800138000", custom={"tags2": ["ab"]})
    client = client_for(users["admin"])
    # "a" is not used ("ab" is): removing it is allowed; removing "ab" is not.
    data = form_data(key="tags2", type="multi_choice", choices="ab | AB")
    assert client.post(f"/settings/fields/{definition.pk}/", data).status_code == 302
    response = client.post(
        f"/settings/fields/{definition.pk}/", form_data(key="tags2", type="multi_choice", choices="c")
    )
    assert "“ab” is used" in response.context["form"].errors["choices"][0]


@pytest.mark.django_db
def test_reorder_and_archive_restore(users):
    first = define(key="a_field")
    second = define(key="b_field")
    client = client_for(users["admin"])
    client.post(f"/settings/fields/{second.pk}/move/", {"direction": "up"})
    assert list(FieldDefinition.objects.order_by("position").values_list("key", flat=True)) == ["b_field", "a_field"]
    client.post(f"/settings/fields/{first.pk}/active/", {"active": "0"})
    first.refresh_from_db()
    assert first.is_active is False
    client.post(f"/settings/fields/{first.pk}/active/", {"active": "1"})
    first.refresh_from_db()
    assert first.is_active is True
    actions = list(
        AuditEvent.objects.filter(object_type="custom_field").order_by("pk").values_list("action", flat=True)
    )
    assert actions == ["create", "create", "update", "update", "update"]


@pytest.mark.django_db
def test_labels_follow_the_page_language(users):
    define(key="level", type="choice", choices=LEVELS, label_zh="会员级别", label_en="Level")
    client = client_for(users["admin"])
    client.cookies["django_language"] = "zh-hans"
    assert "会员级别" in client.get("/settings/fields/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


@pytest.mark.django_db
def test_unknown_ids_are_404(users):
    client = client_for(users["admin"])
    assert client.get("/settings/fields/999/").status_code == 404
    assert client.post("/settings/fields/999/active/", {"active": "0"}).status_code == 404
    assert client.get("/settings/fields/new/?entity=nope").status_code == 404
