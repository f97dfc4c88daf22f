"""Bulk import: file readers, column mapping, validation reports, jobs and revert."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "kehu.imports"
    verbose_name = _("Imports")

    def ready(self) -> None:
        from kehu.imports.importers import register_builtin_importers

        register_builtin_importers()
