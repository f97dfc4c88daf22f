from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "kehu.quality"
    verbose_name = "Data quality"
