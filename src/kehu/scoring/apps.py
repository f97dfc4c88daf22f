from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "kehu.scoring"
    verbose_name = "Customer scoring"
