"""State changes for personal-information controls: audit entries and consent changes."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from kehu.privacy.models import AuditEvent, Consent, ConsentEvent

if TYPE_CHECKING:
    from django.http import HttpRequest

    from kehu.accounts.models import User
    from kehu.customers.models import Customer


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def do_audit(
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object = "",
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    via: str = "web",
) -> AuditEvent:
    """Append one entry to the audit log. Never updates or deletes entries."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor.get_username() if actor is not None and actor.is_authenticated else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before,
        after=after,
        ip_address=client_ip(request),
        via=via,
    )


@transaction.atomic
def do_set_consent(
    customer: Customer,
    channel: str,
    purpose: str,
    status: str,
    *,
    source: str = "",
    notice_version: str = "",
    actor: User | None = None,
    at: dt.datetime | None = None,
) -> Consent:
    """Record a consent change in the ledger and update the current state."""
    at = at or timezone.now()
    ConsentEvent.objects.create(
        customer=customer,
        channel=channel,
        purpose=purpose,
        status=status,
        source=source,
        notice_version=notice_version,
        recorded_at=at,
        actor=actor,
    )
    consent, _ = Consent.objects.update_or_create(
        customer=customer,
        channel=channel,
        purpose=purpose,
        defaults={"status": status, "source": source, "notice_version": notice_version, "updated_at": at},
    )
    return consent
