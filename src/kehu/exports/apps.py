from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "kehu.exports"
    verbose_name = "Exports"

    def ready(self) -> None:
        # The built-in lists (customers, orders) register themselves on import.
        from kehu.exports import lists  # noqa: F401
