"""Template context shared by every page: the navigation and what the user may do."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kehu.accounts import policy


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    caps = policy.capabilities(user)
    return {"caps": caps, "can_unmask": policy.UNMASK in caps, "can_edit": policy.EDIT_CUSTOMERS in caps}
