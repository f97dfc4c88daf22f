"""Custom fields on record lists: the filter controls (with the values in force) and the optional
columns each user picks (remembered in their session), as plain data for templates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kehu.customfields.forms import display_rows
from kehu.customfields.models import FieldDefinition, FieldType

if TYPE_CHECKING:
    from django.http import HttpRequest, QueryDict


def filter_controls(definitions: list[FieldDefinition], params: QueryDict) -> list[dict[str, Any]]:
    """One control per field for the list's filter bar, with the submitted values."""
    controls = []
    for d in definitions:
        name = f"cf_{d.key}"
        control: dict[str, Any] = {"definition": d, "name": name, "type": d.type, "label": d.label}
        if d.type == FieldType.TEXT:
            control.update(value=params.get(name, ""), op=params.get(f"{name}_op", "eq"))
        elif d.type in (FieldType.NUMBER, FieldType.DATE):
            control.update(low=params.get(f"{name}_min", ""), high=params.get(f"{name}_max", ""))
        elif d.type in (FieldType.CHOICE, FieldType.MULTI_CHOICE):
            picked = set(params.getlist(name))
            control["options"] = [
                {"value": c["value"], "label": d.choice_label(c["value"]), "selected": c["value"] in picked}
                for c in d.choices
            ]
        else:
            control["value"] = params.get(name, "")
        control["active"] = any(
            k == name or (k.startswith(f"{name}_") and k != f"{name}_op") for k in params if params.get(k)
        )
        controls.append(control)
    return controls


def chosen_columns(request: HttpRequest, entity: str, definitions: list[FieldDefinition]) -> list[FieldDefinition]:
    """The custom columns this user shows: picked with `cols` (sent with `cols_set=1`), else
    their last pick in this session, else the fields marked "show in list"."""
    by_key = {d.key: d for d in definitions}
    session_key = f"customfields.columns.{entity}"
    if request.GET.get("cols_set"):
        keys = [k for k in request.GET.getlist("cols") if k in by_key][:20]
        request.session[session_key] = keys
    elif session_key in request.session:
        keys = [k for k in request.session[session_key] if k in by_key]
    else:
        keys = [d.key for d in definitions if d.show_in_list]
    return [by_key[k] for k in keys]


def row_cells(columns: list[FieldDefinition], stored: dict[str, Any]) -> list[str]:
    """The chosen columns' text for one record (personal values masked: lists never unmask)."""
    return [r["value"] for r in display_rows(columns, stored, unmasked=False)]
