"""Idempotency-Key handling for POSTs that must not run twice: claim the key, replay the stored
answer for the same request, refuse the key for a different one (409)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from ninja.errors import HttpError

from kehu.api.models import IdempotencyKey

if TYPE_CHECKING:
    from kehu.accounts.models import ApiToken, User

KEEP_FOR = dt.timedelta(hours=24)
# A claim still without an answer after this long belongs to a request that died; it may be retaken.
ABANDONED_AFTER = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Claim:
    row: IdempotencyKey
    replay: bool  # True: the stored answer is to be sent again, nothing is to run


def request_fingerprint(method: str, path: str, body: Any) -> str:
    """SHA-256 of the request as parsed, so formatting differences in the JSON do not matter."""
    canonical = json.dumps(
        {"method": method, "path": path, "body": body}, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim_key(user: User, token: ApiToken | None, key: str, fingerprint: str) -> Claim:
    """Claim `key` for this request, or return the finished request to replay. Raises 409 if the
    key was used for a different request, or if the first request with it is still running."""
    now = timezone.now()
    IdempotencyKey.objects.filter(user=user, created_at__lt=now - KEEP_FOR).delete()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    user=user, token=token, key=key, request_hash=fingerprint, created_at=now
                )
            return Claim(row, replay=False)
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(user=user, key=key).first()
            if existing is None:
                continue  # expired and removed since our insert failed; claim it afresh
            if existing.request_hash != fingerprint:
                raise HttpError(409, "This Idempotency-Key was already used for a different request.") from None
            if existing.response_status is not None:
                return Claim(existing, replay=True)
            abandoned = IdempotencyKey.objects.filter(
                pk=existing.pk, response_status__isnull=True, created_at__lt=now - ABANDONED_AFTER
            )
            if abandoned.delete()[0]:
                continue
            raise HttpError(409, "A request with this Idempotency-Key is still being processed; retry later.") from None
    raise HttpError(409, "Could not claim this Idempotency-Key; retry later.")


def record_response(claim: Claim, status: int, body: dict[str, Any]) -> None:
    IdempotencyKey.objects.filter(pk=claim.row.pk).update(response_status=status, response_body=body)


def release(claim: Claim) -> None:
    """Forget a claim whose request failed, so the client can retry with the same key."""
    IdempotencyKey.objects.filter(pk=claim.row.pk, response_status__isnull=True).delete()


def purge_expired_keys() -> int:
    """Delete every key older than 24 hours (for a periodic job); returns how many were removed."""
    return IdempotencyKey.objects.filter(created_at__lt=timezone.now() - KEEP_FOR).delete()[0]
