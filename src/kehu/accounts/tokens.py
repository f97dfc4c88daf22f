"""API tokens for machines: issue (secret shown once), verify by hash, revoke; every issue is audited."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.accounts import policy
from kehu.accounts.models import ApiToken, hash_token
from kehu.privacy.actions import do_audit
from kehu.privacy.models import AuditAction

if TYPE_CHECKING:
    from kehu.accounts.models import User

CUSTOMERS_READ = "customers:read"
CUSTOMERS_WRITE = "customers:write"
ORDERS_READ = "orders:read"
ORDERS_WRITE = "orders:write"

# Each scope unlocks at most one role capability: a token needs the scope AND its user the capability.
SCOPE_CAPABILITIES: dict[str, str] = {
    CUSTOMERS_READ: policy.VIEW_CUSTOMERS,
    CUSTOMERS_WRITE: policy.EDIT_CUSTOMERS,
    ORDERS_READ: policy.VIEW_ORDERS,
    ORDERS_WRITE: policy.INGEST_ORDERS,
}
SCOPES = tuple(SCOPE_CAPABILITIES)

TOKEN_PREFIX = "kehu"  # noqa: S105 - the recognisable start of every token, not a secret
# Writing last_used_at on every request would turn every read into a write; a minute is precise enough.
LAST_USED_PRECISION = dt.timedelta(minutes=1)


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """Validate and de-duplicate scopes (keeping their order); raise ValidationError naming `scopes`."""
    cleaned = list(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    if not cleaned:
        raise ValidationError({"scopes": [_("Give at least one scope.")]})
    unknown = [s for s in cleaned if s not in SCOPE_CAPABILITIES]
    if unknown:
        raise ValidationError({"scopes": [_("Unknown scope: %(scopes)s.") % {"scopes": ", ".join(unknown)}]})
    return cleaned


def scopes_beyond_role(user: User, scopes: Iterable[str]) -> list[str]:
    """Scopes the user's role cannot use: harmless (the role still limits the token) but worth a warning."""
    return [s for s in scopes if not policy.can(user, SCOPE_CAPABILITIES[s])]


def issue_token(
    user: User, name: str, scopes: Iterable[str], *, actor: User | None = None, via: str = "web"
) -> tuple[ApiToken, str]:
    """Create a token for `user` and return it with its raw secret `kehu_<prefix>_<secret>`.
    The secret is not stored (only its SHA-256) and cannot be shown again."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": [_("Enter a name.")]})
    if len(name) > 100:
        raise ValidationError({"name": [_("A name has at most 100 characters.")]})
    clean_scopes = check_scopes(scopes)
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=prefix, key_hash=hash_token(raw), scopes=clean_scopes
        )
        do_audit(
            actor,
            AuditAction.CREATE,
            "api_token",
            token.pk,
            after={"user": user.get_username(), "name": name, "prefix": prefix, "scopes": clean_scopes},
            via=via,
        )
    return token, raw


def verify_token(raw: str) -> ApiToken | None:
    """The live token behind a raw secret, or None (unknown, malformed, revoked, or user inactive).

    The lookup is by SHA-256 of the whole secret, so response time reveals nothing about how
    close a guess was; the prefix is compared in constant time as a second check."""
    parts = raw.split("_", 2)
    if len(raw) > 200 or len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw)).first()
    if token is None or not hmac.compare_digest(token.prefix, parts[1]):
        return None
    if token.revoked_at is not None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def revoke_token(token: ApiToken, *, actor: User | None = None, via: str = "web") -> bool:
    """Revoke a token at once; returns False if it was already revoked."""
    with transaction.atomic():
        now = timezone.now()
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
        if not changed:
            return False
        token.revoked_at = now
        do_audit(
            actor,
            AuditAction.UPDATE,
            "api_token",
            token.pk,
            before={"revoked_at": None},
            after={"revoked_at": now.isoformat()},
            via=via,
        )
    return True
