"""Reads of export jobs, permission-checked: a job is visible to its creator and to admins only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from kehu.accounts import policy
from kehu.exports.models import ExportJob

if TYPE_CHECKING:
    from kehu.accounts.models import User


def _is_admin(user: User) -> bool:
    return policy.can(user, policy.MANAGE_STAFF)


def my_exports(user: User) -> QuerySet[ExportJob]:
    policy.check(user, policy.EXPORT)
    return ExportJob.objects.filter(created_by=user).order_by("-created_at", "-pk")


def access_export_job(user: User, job_id: int) -> ExportJob:
    """The job if the user made it (or is an admin); 404 otherwise, so that other users' exports
    are not even known to exist."""
    policy.check(user, policy.EXPORT)
    qs = ExportJob.objects.select_related("created_by")
    if not _is_admin(user):
        qs = qs.filter(created_by=user)
    try:
        return qs.get(pk=job_id)
    except ExportJob.DoesNotExist:
        raise Http404(_("No such export.")) from None
