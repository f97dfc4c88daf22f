"""Bulk actions from the customer list: tag many customers at once, in bulk SQL, audited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kehu.customers.models import Customer, Tag
from kehu.customers.queries import visible_customers
from kehu.privacy.actions import client_ip
from kehu.privacy.models import AuditAction, AuditEvent

if TYPE_CHECKING:
    from django.http import HttpRequest

    from kehu.accounts.models import User

MAX_BULK_CUSTOMERS = 1000


def check_tag_customers(
    actor: User, customer_ids: Iterable[int], tag_name: str, *, request: HttpRequest | None = None
) -> int:
    """Validate a bulk tagging request and run it on the customers the actor may see (others are
    silently left out, as if they did not exist). Returns how many customers gained the tag."""
    name = tag_name.strip()
    if not name:
        raise ValidationError({"tag": [_("Enter a tag.")]})
    if len(name) > 50:
        raise ValidationError({"tag": [_("A tag has at most 50 characters.")]})
    ids = sorted(set(customer_ids))
    if not ids:
        raise ValidationError({"customer": [_("Select at least one customer.")]})
    if len(ids) > MAX_BULK_CUSTOMERS:
        raise ValidationError(
            {"customer": [_("Select at most %(n)d customers at a time.") % {"n": MAX_BULK_CUSTOMERS}]}
        )
    visible = list(visible_customers(actor).filter(pk__in=ids).values_list("pk", flat=True))
    return do_tag_customers(actor, visible, name, request=request)


@transaction.atomic
def do_tag_customers(
    actor: User | None, customer_ids: list[int], tag_name: str, *, request: HttpRequest | None = None
) -> int:
    """Give these customers the tag (created if new): one bulk insert of the link rows, one
    bulk insert of audit entries for the customers that did not have it yet."""
    tag, _created = Tag.objects.get_or_create(name=tag_name)
    through = Customer.tags.through
    already = set(through.objects.filter(tag=tag, customer_id__in=customer_ids).values_list("customer_id", flat=True))
    new_ids = [pk for pk in customer_ids if pk not in already]
    through.objects.bulk_create([through(customer_id=pk, tag_id=tag.pk) for pk in new_ids], ignore_conflicts=True)
    label = actor.get_username() if actor is not None and actor.is_authenticated else ""
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=actor if label else None,
                actor_label=label,
                action=AuditAction.UPDATE,
                object_type="customer",
                object_id=str(pk),
                before={"tags_added": []},
                after={"tags_added": [tag.name]},
                ip_address=client_ip(request),
                via="web",
            )
            for pk in new_ids
        ]
    )
    return len(new_ids)
