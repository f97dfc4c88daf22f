"""Identity resolution: duplicate suggestions, the review queue, and undoable merges."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "kehu.identity"
    verbose_name = _("Identity resolution")
