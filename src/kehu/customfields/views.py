"""Settings pages for custom fields (admins: `policy.MANAGE_FIELDS`): list by record type,
create, edit, move up/down, archive and restore. Thin: parse, check, call one action."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kehu.accounts import policy
from kehu.customfields.actions import check_create_field, check_update_field, do_move_field, do_set_active
from kehu.customfields.forms import FieldDefinitionForm
from kehu.customfields.models import FieldDefinition
from kehu.customfields.queries import all_fields, field_has_data
from kehu.customfields.registry import entities, get_entity

if TYPE_CHECKING:
    from kehu.accounts.models import User


def _admin(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    policy.check(user, policy.MANAGE_FIELDS)
    return user


def _add_errors(form: FieldDefinitionForm, error: ValidationError) -> None:
    for name, errors in error.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


@login_required
@require_GET
def field_list(request: HttpRequest) -> HttpResponse:
    _admin(request)
    groups = [{"entity": e, "fields": all_fields(e.key)} for e in entities()]
    return render(request, "customfields/list.html", {"groups": groups, "nav_section": "settings"})


@login_required
@require_http_methods(["GET", "POST"])
def field_create(request: HttpRequest) -> HttpResponse:
    user = _admin(request)
    entity = request.GET.get("entity", "customer")
    if get_entity(entity) is None:
        raise Http404
    form = FieldDefinitionForm(request.POST or None, initial={"entity": entity, "type": "text"})
    if request.method == "POST" and form.is_valid():
        try:
            definition = check_create_field(user, form.field_input())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Field “%(label)s” created.") % {"label": definition.label})
            return redirect("customfield-list")
    return render(request, "customfields/edit.html", {"form": form, "definition": None, "nav_section": "settings"})


@login_required
@require_http_methods(["GET", "POST"])
def field_edit(request: HttpRequest, field_id: int) -> HttpResponse:
    user = _admin(request)
    definition = get_object_or_404(FieldDefinition, pk=field_id)
    form = FieldDefinitionForm(request.POST or None, instance=definition)
    if request.method == "POST" and form.is_valid():
        try:
            check_update_field(user, definition, form.field_input())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Field “%(label)s” saved.") % {"label": definition.label})
            return redirect("customfield-list")
    context: dict[str, Any] = {
        "form": form,
        "definition": definition,
        "has_data": field_has_data(definition),
        "nav_section": "settings",
    }
    return render(request, "customfields/edit.html", context)


@login_required
@require_POST
def field_move(request: HttpRequest, field_id: int) -> HttpResponse:
    user = _admin(request)
    definition = get_object_or_404(FieldDefinition, pk=field_id)
    do_move_field(user, definition, -1 if request.POST.get("direction") == "up" else 1)
    return redirect("customfield-list")


@login_required
@require_POST
def field_set_active(request: HttpRequest, field_id: int) -> HttpResponse:
    user = _admin(request)
    definition = get_object_or_404(FieldDefinition, pk=field_id)
    active = request.POST.get("active") == "1"
    do_set_active(user, definition, active)
    message = _("Field “%(label)s” restored.") if active else _("Field “%(label)s” archived; its values are kept.")
    messages.success(request, message % {"label": definition.label})
    return redirect("customfield-list")
