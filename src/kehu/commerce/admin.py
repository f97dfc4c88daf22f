"""Admin for configuration: channels, regions, stores, categories and products. Orders are data,
not configuration: they come from ingestion and are read-only here."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from kehu.commerce.models import Channel, Order, OrderLine, Product, ProductCategory, Region, Store


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "kind")
    list_filter = ("kind",)
    search_fields = ("code", "name", "name_en")


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en")
    search_fields = ("code", "name", "name_en")


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "region", "province", "city", "is_active", "opened_on")
    list_filter = ("region", "is_active")
    search_fields = ("code", "name", "city")
    list_select_related = ("region",)


@admin.register(ProductCategory)
class ProductCategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "parent")
    search_fields = ("code", "name", "name_en")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "category", "price", "cost", "is_active")
    list_filter = ("category", "is_active")
    search_fields = ("sku", "name")
    list_select_related = ("category",)


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = ("line_no", "product", "sku", "name", "quantity", "unit_price", "amount")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "customer", "channel", "store", "status", "ordered_at", "paid_amount")
    list_filter = ("status", "channel")
    search_fields = ("number", "source_id")
    date_hierarchy = "ordered_at"
    list_select_related = ("customer", "channel", "store")
    raw_id_fields = ("customer", "salesperson")
    inlines = [OrderLineInline]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
