"""Customer pages: the list (filters, sorting, keyset pages, bulk tagging), the 360 page with
masked personal data and an audited Reveal, notes, and the new/edit profile forms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kehu.accounts import policy
from kehu.customers.actions import check_create_customer, check_update_customer, do_add_note
from kehu.customers.bulk import check_tag_customers
from kehu.customers.forms import (
    BulkTagForm,
    CustomerFilterForm,
    NewCustomerForm,
    NoteForm,
    ProfileForm,
    add_domain_errors,
)
from kehu.customers.models import Customer, Tag
from kehu.customers.presenters import address_display, customer_row, identity_display
from kehu.customers.queries import access_customer, customer_360, list_customers
from kehu.customfields.forms import custom_field_rows
from kehu.customfields.queries import active_fields
from kehu.privacy.actions import do_audit
from kehu.privacy.models import AuditAction, ContactChannel, Purpose

if TYPE_CHECKING:
    from kehu.accounts.models import User

MAX_CURSOR_LENGTH = 200


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# --- list ----------------------------------------------------------------------------------


def _list_context(request: HttpRequest, new_form: NewCustomerForm | None = None) -> dict[str, Any]:
    user = _user(request)
    filter_form = CustomerFilterForm(user, request.GET or None)
    cursor = request.GET.get("cursor", "")[:MAX_CURSOR_LENGTH] or None
    page = list_customers(user, filter_form.as_filters(), filter_form.chosen_sort(), cursor)
    prefetch_related_objects(page.customers, "identities")
    from kehu.customfields import listing

    custom_columns = listing.chosen_columns(request, "customer", filter_form.custom_definitions)
    return {
        "nav_section": "customers",
        "filter_form": filter_form,
        "rows": [
            {**customer_row(c), "custom_cells": listing.row_cells(custom_columns, c.custom)} for c in page.customers
        ],
        "custom_controls": listing.filter_controls(filter_form.custom_definitions, request.GET),
        "custom_columns": custom_columns,
        "custom_definitions": filter_form.custom_definitions,
        "next_cursor": page.next_cursor,
        "is_later_page": cursor is not None,
        "sort": page.sort,
        "new_form": new_form
        or (
            NewCustomerForm(user, custom_definitions=filter_form.all_custom_definitions)
            if policy.can(user, policy.EDIT_CUSTOMERS)
            else None
        ),
        "show_new_form": new_form is not None,
        "tags": list(Tag.objects.values_list("name", flat=True)),
    }


@login_required
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    policy.check(_user(request), policy.VIEW_CUSTOMERS)
    return render(request, "customers/list.html", _list_context(request))


@login_required
@require_POST
def customer_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    policy.check(user, policy.EDIT_CUSTOMERS)
    form = NewCustomerForm(user, request.POST)
    if form.is_valid():
        try:
            customer = check_create_customer(user, form.domain_data())
        except ValidationError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect("customer-detail", customer_id=customer.pk)
    return render(request, "customers/list.html", _list_context(request, new_form=form))


@login_required
@require_POST
def customer_bulk_tag(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    policy.check(user, policy.EDIT_CUSTOMERS)
    form = BulkTagForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("customer-list")
    try:
        added = check_tag_customers(user, form.cleaned_data["customer"], form.cleaned_data["tag"], request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            ngettext("Tag “%(tag)s” added to %(n)d customer.", "Tag “%(tag)s” added to %(n)d customers.", added)
            % {"tag": form.cleaned_data["tag"], "n": added},
        )
    back = QueryDict(request.POST.get("next_query", "")[: MAX_CURSOR_LENGTH * 4]).urlencode()
    return redirect(reverse("customer-list") + (f"?{back}" if back else ""))


# --- 360 -----------------------------------------------------------------------------------


def _consent_matrix(consents: list[Any]) -> dict[str, Any]:
    """Consent per channel × purpose, for the small matrix on the 360 page."""
    by_key = {(c.channel, c.purpose): c for c in consents}
    return {
        "purposes": Purpose.choices,
        "rows": [
            {"label": label, "cells": [by_key.get((channel, purpose)) for purpose, _label in Purpose.choices]}
            for channel, label in ContactChannel.choices
        ],
    }


def _personal_data(view: Any, *, unmasked: bool, custom_definitions: list[Any] | None = None) -> dict[str, Any]:
    return {
        "identities": [
            {
                "kind": i.kind,
                "label": i.get_kind_display(),
                "value": identity_display(i, unmasked=unmasked),
                "is_primary": i.is_primary,
                "verified": i.verified,
            }
            for i in view.identities
        ],
        "addresses": [{**address_display(a, unmasked=unmasked), "is_default": a.is_default} for a in view.addresses],
        "custom": custom_field_rows(view.customer, personal=True, unmasked=unmasked, definitions=custom_definitions),
        "unmasked": unmasked,
    }


def _detail_context(request: HttpRequest, customer: Customer, **extra: Any) -> dict[str, Any]:
    user = _user(request)
    from kehu.identity import queries as identity
    from kehu.scoring import queries as scoring

    score_reads = scoring.customer_card_reads(customer)
    view = customer_360(user, customer, extra=[*score_reads, *identity.identity_card_reads(user, customer)])
    card = scoring.customer_card(view.extra[: len(score_reads)])
    can_edit = policy.can(user, policy.EDIT_CUSTOMERS)
    custom_definitions = active_fields("customer")

    context = {
        "nav_section": "customers",
        "customer": customer,
        "view": view,
        "score": card.score,
        "grade_history": card.grade_history,
        "grade_warnings": card.warnings,
        "personal": _personal_data(view, unmasked=False, custom_definitions=custom_definitions),
        "custom_rows": custom_field_rows(customer, personal=False, unmasked=False, definitions=custom_definitions),
        "consent": _consent_matrix(view.consents),
        "note_form": NoteForm() if can_edit else None,
        "notes": view.notes,
        "identity": identity.identity_card(user, customer, view.extra[len(score_reads) :]),
    }
    english = (get_language() or "").startswith("en")
    for row in view.channels_used:
        # The channel's name in the page's language (`name_en` in English when recorded).
        row["label"] = (row["channel__name_en"] if english else "") or row["channel__name"]
    context.update(extra)
    return context


def _profile_initial(customer: Customer) -> dict[str, Any]:
    return {
        "name": customer.name,
        "kind": customer.kind,
        "party_type": customer.party_type,
        "gender": customer.gender,
        "birthday": customer.birthday,
        "home_store_id": customer.home_store_id,
        "preferred_channel_id": customer.preferred_channel_id,
        "custom": customer.custom,
    }


@login_required
@require_GET
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    return customer_page(request, access_customer(_user(request), customer_id))


def customer_page(request: HttpRequest, customer: Customer) -> HttpResponse:
    """The 360 page of a customer the user may see (checked by the caller: `access_customer`, or a
    search within `visible_customers`), audited as a full-record read. It names its own address
    (`page_path`), so that a search answering with it directly shows the customer's URL."""
    do_audit(_user(request), AuditAction.VIEW, "customer", customer.pk, request=request)
    page_path = reverse("customer-detail", args=[customer.pk])
    return render(request, "customers/detail.html", _detail_context(request, customer, page_path=page_path))


@login_required
@require_POST
def customer_reveal(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Show the unmasked phone, email and addresses (HTMX partial); audited."""
    user = _user(request)
    policy.check(user, policy.UNMASK)
    customer = access_customer(user, customer_id)
    prefetch_related_objects([customer], "identities", "addresses")
    do_audit(user, AuditAction.UNMASK, "customer", customer.pk, request=request)
    customer_ = customer

    class _View:
        customer = customer_
        identities = list(customer.identities.all())
        addresses = list(customer.addresses.all())

    context = {"customer": customer, "personal": _personal_data(_View, unmasked=True)}
    if _is_htmx(request):
        return render(request, "customers/_personal.html", context)
    return render(request, "customers/detail.html", _detail_context(request, customer, **context))


@login_required
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    user = _user(request)
    policy.check(user, policy.EDIT_CUSTOMERS)
    customer = access_customer(user, customer_id)
    if request.method == "GET":
        form = ProfileForm(user, initial=_profile_initial(customer))
        return render(request, "customers/edit.html", {"customer": customer, "form": form, "nav_section": "customers"})
    form = ProfileForm(user, request.POST)
    if form.is_valid():
        try:
            check_update_customer(user, customer, form.domain_data())
        except ValidationError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Profile saved."))
            return redirect("customer-detail", customer_id=customer.pk)
    return render(request, "customers/edit.html", {"customer": customer, "form": form, "nav_section": "customers"})


@login_required
@require_POST
def customer_add_note(request: HttpRequest, customer_id: int) -> HttpResponse:
    user = _user(request)
    policy.check(user, policy.EDIT_CUSTOMERS)
    customer = access_customer(user, customer_id)
    form = NoteForm(request.POST)
    saved = form.is_valid()
    if saved:
        do_add_note(user, customer, form.cleaned_data["body"])
        form = NoteForm()
    if not _is_htmx(request):
        if not saved:
            messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("customer-detail", customer_id=customer.pk)
    notes = list(customer.notes.select_related("author")[:10])
    # HTMX swaps only 2xx responses, so an invalid note comes back as 200 with its field error.
    return render(request, "customers/_notes.html", {"customer": customer, "notes": notes, "note_form": form})
