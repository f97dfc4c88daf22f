"""Bulk import: file readers, column mapping, validation reports, jobs and revert."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "kehu.imports"
    verbose_name = _("Imports")
    # The built-in importers are registered on first use (`kehu.imports.registry`), not here:
    # they pull in pandas and pyarrow, which web processes would otherwise load at start-up.
