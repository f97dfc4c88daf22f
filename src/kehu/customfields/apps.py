from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomFieldsConfig(AppConfig):
    name = "kehu.customfields"
    label = "customfields"
    verbose_name = _("Custom fields")

    def ready(self) -> None:
        from kehu.customfields.imports import extend_importer
        from kehu.customfields.registry import Entity, register_entity
        from kehu.imports.registry import register_importer_extension

        register_entity(Entity("customer", "customers.Customer", _("Customers"), "customers", "customer"))
        register_entity(Entity("order", "commerce.Order", _("Orders"), "orders", "order"))
        register_importer_extension(extend_importer)
