"""Admin for customer configuration: tags and households. Customers themselves are edited in the
product's own pages, which validate, mask and audit."""

from __future__ import annotations

from django.contrib import admin

from kehu.customers.models import Household, Tag


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "color")
    search_fields = ("name",)


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
