from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "kehu.sales"
    verbose_name = "Sales figures and targets"
