from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Assignment,
    ChurnCase,
    ChurnReason,
    ContractLine,
    Customer,
    FxRate,
    RecomputeStatus,
    RetentionSnapshot,
)


class ContractLineInline(admin.TabularInline):
    model = ContractLine
    extra = 0


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["external_id", "name", "segment", "region", "industry", "use_case"]
    list_filter = ["segment", "region", "industry"]
    search_fields = ["external_id", "name"]
    inlines = [ContractLineInline, AssignmentInline]


@admin.register(FxRate)
class FxRateAdmin(SimpleHistoryAdmin):
    list_display = ["currency", "valid_from", "rate"]
    list_filter = ["currency"]


@admin.register(ContractLine)
class ContractLineAdmin(admin.ModelAdmin):
    list_display = ["external_id", "customer", "product", "start_date", "end_date", "arr", "currency"]
    list_filter = ["product"]
    search_fields = ["external_id", "customer__name", "customer__external_id"]
    autocomplete_fields = ["customer"]


@admin.register(Assignment)
class AssignmentAdmin(SimpleHistoryAdmin):
    list_display = ["customer", "role", "user", "start_date", "end_date"]
    list_filter = ["role"]
    search_fields = ["customer__name", "customer__external_id", "user__email"]
    autocomplete_fields = ["customer", "user"]


@admin.register(ChurnReason)
class ChurnReasonAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "category", "active"]
    list_filter = ["category", "active"]
    search_fields = ["code", "label"]


@admin.register(ChurnCase)
class ChurnCaseAdmin(SimpleHistoryAdmin):
    list_display = ["customer", "date", "kind", "lost_arr", "primary_reason", "void"]
    list_filter = ["kind", "void", "primary_reason"]
    search_fields = ["customer__name", "customer__external_id"]
    readonly_fields = [
        "customer",
        "date",
        "kind",
        "previous_arr",
        "new_arr",
        "lost_arr",
        "csm_owner",
        "csm_team",
        "am_owner",
        "am_team",
        "void",
    ]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Snapshots are written only by the recompute; the admin may look, not touch."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RetentionSnapshot)
class RetentionSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["granularity", "period_start", "scope_type", "scope_key", "role", "starting_arr", "nrr", "grr"]
    list_filter = ["granularity", "scope_type", "role"]


@admin.register(RecomputeStatus)
class RecomputeStatusAdmin(ReadOnlyAdmin):
    list_display = ["computed_at", "full_computed_at", "pending", "last_duration_seconds"]
