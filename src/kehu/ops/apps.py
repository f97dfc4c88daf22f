from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "kehu.ops"
    verbose_name = "Operations"
