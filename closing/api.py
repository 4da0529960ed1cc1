"""REST API v1: closes and restatement reports (SPEC section 9)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from api.views import ApiViewSet

from .models import CLOSABLE, PeriodClose
from .restatements import as_json, build_report, close_json
from .service import CloseRefused, close_period, reopen_period


class CloseSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    granularity = serializers.ChoiceField(choices=CLOSABLE)
    period_start = serializers.DateField(
        input_formats=["%Y-%m-%d"], help_text="The period's first day (as in the retention rows)."
    )
    period_end = serializers.DateField(read_only=True)
    closed = serializers.BooleanField(read_only=True, help_text="false once reopened")
    closed_by = serializers.EmailField(read_only=True)
    closed_at = serializers.DateTimeField(read_only=True)
    reopened_by = serializers.EmailField(read_only=True, allow_null=True)
    reopened_at = serializers.DateTimeField(read_only=True, allow_null=True)
    reopen_reason = serializers.CharField(read_only=True)

    def to_representation(self, instance):
        return close_json(instance)


class ReopenSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why the period is reopened (kept in the history).")


class CloseViewSet(ApiViewSet):
    """Closed periods: list (executives and admins), close and reopen (admins), restatement report."""

    serializer_class = CloseSerializer

    def get_queryset(self):
        if not self.visibility.can_see_restatements():
            raise PermissionDenied("Closed periods are for executives and admins.")
        return PeriodClose.objects.select_related("closed_by", "reopened_by").order_by(
            "-period_start", "granularity", "-closed_at"
        )

    def _admin(self):
        if not self.visibility.can_close_periods():
            raise PermissionDenied("Only admins close and reopen periods.")

    def _get(self, pk):
        close = self.get_queryset().filter(pk=pk).first()
        if close is None:
            raise NotFound()
        return close

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([close_json(c) for c in page])

    def retrieve(self, request, pk=None):
        return Response(close_json(self._get(pk)))

    def create(self, request):
        self._admin()
        serializer = CloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            close = close_period(
                serializer.validated_data["granularity"], serializer.validated_data["period_start"], request.user
            )
        except CloseRefused as refused:
            raise ValidationError({"period_start": [str(refused)]}) from None
        return Response(close_json(close), status=status.HTTP_201_CREATED)

    @extend_schema(request=ReopenSerializer, responses=CloseSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        self._admin()
        close = self._get(pk)
        serializer = ReopenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            close = reopen_period(close, request.user, serializer.validated_data["reason"])
        except CloseRefused as refused:
            raise ValidationError({"reason": [str(refused)]}) from None
        return Response(close_json(close))

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def restatements(self, request, pk=None):
        close = self._get(pk)
        if not close.is_open or not close.input_version:
            raise ValidationError(
                {"detail": ["This close was reopened: its restatements are over (the close stays in the history)."]}
            )
        return Response(as_json(build_report(close)))
