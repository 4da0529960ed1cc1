"""Who may write through the API: the scoping module decides (reads are scoped by its querysets)."""

from rest_framework import permissions

from metrics.scoping import visibility


class AdminWrites(permissions.BasePermission):
    message = "Only admins can change customers, contract lines and assignments."

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or visibility(request).is_admin


class RecordsReasons(permissions.BasePermission):
    message = "Only admins, and leads for their teams' accounts, can record churn reasons."

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or visibility(request).can_record_reasons()

    def has_object_permission(self, request, view, obj):
        return request.method in permissions.SAFE_METHODS or visibility(request).can_record_reason(obj)
