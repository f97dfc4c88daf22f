"""Identity resolution: duplicate suggestions, the review queue, and undoable merges."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "kehu.identity"
    verbose_name = _("Identity resolution")

    def ready(self) -> None:
        from kehu.imports.signals import import_finished

        import_finished.connect(queue_scan_after_import, dispatch_uid="identity-scan-after-import")


# Imports of these kinds can create customers (orders create their buyers).
CUSTOMER_IMPORT_KINDS = ("customers", "orders")


def queue_scan_after_import(sender: object, job: object, **kwargs: object) -> None:
    """Deterministic matches are merged by the import itself; the uncertain ones (similar name
    with the same birthday or address) are found by a background duplicate scan and wait in
    the review queue."""
    if getattr(job, "kind", None) not in CUSTOMER_IMPORT_KINDS or not getattr(job, "created", 0):
        return
    from kehu.identity.actions import do_request_scan

    do_request_scan(getattr(job, "created_by", None))
