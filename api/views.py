"""REST API v1: thin views over the precomputed tables, scoped by ``accounts.scoping.Visibility``.

Every queryset passes through Visibility, and single objects are looked up in the scoped
queryset, so an id of another team's or owner's object answers 404. Lists answer JSON pages or,
with ``?format=csv``, a streamed CSV of every row with the same columns.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, viewsets
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer

from accounts.models import Team, TeamMembership, User
from accounts.scoping import Visibility
from metrics.models import AccountMovement, Assignment, ChurnCase, ChurnReason, ContractLine, Customer, RetentionSnapshot

from . import filters, serializers
from .csvstream import CSVRenderer, csv_response

# Rows fetched per round trip when a CSV streams a whole table.
CSV_FETCH_ROWS = 2000
FORMAT_PARAMETER = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=["json", "csv"], description="csv: every row (no pages) as a CSV download."
)


class Pages(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


# --- permissions ----------------------------------------------------------------------------


class AdminWrites(permissions.BasePermission):
    message = "Only admins can change customers, contract lines and assignments."

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or Visibility.for_user(request.user).is_admin


class RecordsReasons(permissions.BasePermission):
    message = "Only admins, and leads for their teams' accounts, can record churn reasons."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        visibility = Visibility.for_user(request.user)
        return visibility.is_admin or bool(visibility.led_team_ids)

    def has_object_permission(self, request, view, obj):
        return request.method in permissions.SAFE_METHODS or Visibility.for_user(request.user).can_record_reason(obj)


# --- the shared base ------------------------------------------------------------------------


class ApiViewSet(viewsets.GenericViewSet):
    renderer_classes = [JSONRenderer, CSVRenderer]
    pagination_class = Pages
    lookup_value_regex = r"\d+"

    @property
    def visibility(self) -> Visibility:
        return Visibility.for_user(self.request.user)

    # Throttles run before the permission check, and also when credentials fail, so that
    # anonymous callers and token guessers meet the rate limit (429), not an endless 401.
    def perform_authentication(self, request):
        try:
            request.user
        except APIException:
            self.check_throttles(request)
            raise

    def check_permissions(self, request):
        self.check_throttles(request)
        super().check_permissions(request)

    def check_throttles(self, request):
        if getattr(request, "_throttles_checked", False):
            return
        request._throttles_checked = True
        super().check_throttles(request)

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer)

    def _save(self, serializer, **extra):
        # One transaction: the row and the recompute trigger the model signals write commit together.
        try:
            with transaction.atomic():
                serializer.save(**extra)
        except IntegrityError:
            # A concurrent change won the race past validation (e.g. an overlapping assignment).
            raise ValidationError({"non_field_errors": ["This change conflicts with data saved meanwhile; reload and retry."]}) from None


class ListWithCsv(mixins.ListModelMixin):
    """JSON pages, or with ``?format=csv`` every row streamed, formatted by the same serializer."""

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        if request.accepted_renderer.format == "csv":
            serializer = self.get_serializer()
            columns = [name for name, field in serializer.fields.items() if not field.write_only]
            # iterator(): a server-side cursor read in chunks, so a million rows never sit in memory.
            rows = map(serializer.to_representation, queryset.iterator(chunk_size=CSV_FETCH_ROWS))
            return csv_response(columns, rows, self.basename)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


list_schema = extend_schema(parameters=[FORMAT_PARAMETER])


# --- read-only views --------------------------------------------------------------------------


@extend_schema_view(list=list_schema)
class RetentionViewSet(ListWithCsv, ApiViewSet):
    """Retention rows (SPEC section 5): one per period and scope, read from the snapshots."""

    serializer_class = serializers.RetentionRowSerializer
    filterset_class = filters.RetentionFilter
    ordering_fields = ["period_start", "granularity", "scope_type", "scope_key", "role", "starting_arr", "nrr", "grr"]
    ordering = RetentionSnapshot._meta.ordering

    def get_queryset(self):
        return self.visibility.snapshots(RetentionSnapshot.objects.all())


@extend_schema_view(list=list_schema)
class MovementViewSet(ListWithCsv, ApiViewSet):
    """The accounts behind retention rows: one customer (or customer and product) per period."""

    serializer_class = serializers.MovementRowSerializer
    filterset_class = filters.MovementFilter
    ordering_fields = ["period_start", "granularity", "customer__name", "customer__external_id", "product",
                       "starting_arr", "ending_arr", "movement"]  # fmt: skip
    ordering = AccountMovement._meta.ordering

    def get_queryset(self):
        # Plain values, not model instances: the CSV of every movement row stays fast and small.
        rows = AccountMovement.objects.values(*serializers.MovementRowSerializer.value_names())
        return self.visibility.movements(rows)


@extend_schema_view(list=list_schema)
class TeamViewSet(ListWithCsv, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = serializers.TeamSerializer
    filterset_class = filters.TeamFilter
    ordering_fields = ["name", "function"]
    ordering = ["name"]

    def get_queryset(self):
        return self.visibility.teams(Team.objects.select_related("lead"))


@extend_schema_view(list=list_schema)
class UserViewSet(ListWithCsv, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = serializers.UserSerializer
    filterset_class = filters.UserFilter
    ordering_fields = ["email", "full_name", "role"]
    ordering = ["email"]

    def get_queryset(self):
        today = timezone.localdate()
        current = TeamMembership.objects.filter(
            Q(end_date__isnull=True) | Q(end_date__gte=today), user=OuterRef("pk"), start_date__lte=today
        ).values("team__name")[:1]
        return self.visibility.users(User.objects.annotate(current_team=Subquery(current)))


@extend_schema_view(list=list_schema)
class ReasonViewSet(ListWithCsv, mixins.RetrieveModelMixin, ApiViewSet):
    """The churn reason taxonomy."""

    serializer_class = serializers.ReasonSerializer
    filterset_class = filters.ReasonFilter
    ordering_fields = ["code", "label", "category"]
    ordering = ChurnReason._meta.ordering
    queryset = ChurnReason.objects.all()


# --- writable views ---------------------------------------------------------------------------


class WritableViewSet(ListWithCsv, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, ApiViewSet):
    permission_classes = [permissions.IsAuthenticated, AdminWrites]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


@extend_schema_view(list=list_schema)
class CustomerViewSet(WritableViewSet):
    serializer_class = serializers.CustomerSerializer
    filterset_class = filters.CustomerFilter
    ordering_fields = ["name", "external_id", "segment", "region", "industry", "use_case"]
    ordering = ["name", "id"]

    def get_queryset(self):
        return self.visibility.customers(Customer.objects.all())


@extend_schema_view(list=list_schema)
class ContractLineViewSet(WritableViewSet):
    serializer_class = serializers.ContractLineSerializer
    filterset_class = filters.ContractLineFilter
    ordering_fields = ["external_id", "start_date", "end_date", "arr", "product"]
    ordering = ["customer__name", "customer_id", "start_date", "external_id"]

    def get_queryset(self):
        return self.visibility.customer_related(ContractLine.objects.select_related("customer"))


@extend_schema_view(list=list_schema)
class AssignmentViewSet(WritableViewSet):
    serializer_class = serializers.AssignmentSerializer
    filterset_class = filters.AssignmentFilter
    ordering_fields = ["start_date", "end_date", "role"]
    ordering = ["customer__name", "customer_id", "role", "start_date"]

    def get_queryset(self):
        return self.visibility.customer_related(Assignment.objects.select_related("customer", "user"))


@extend_schema_view(list=list_schema)
class ChurnCaseViewSet(ListWithCsv, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ApiViewSet):
    """Churn and contraction cases with their reasons; admins and leads record the reasons."""

    serializer_class = serializers.ChurnCaseSerializer
    filterset_class = filters.ChurnCaseFilter
    permission_classes = [permissions.IsAuthenticated, RecordsReasons]
    http_method_names = ["get", "put", "patch", "head", "options"]
    ordering_fields = ["date", "lost_arr", "kind"]
    ordering = ["-date", "customer__name", "id"]

    def get_queryset(self):
        cases = ChurnCase.objects.select_related(
            "customer", "csm_owner", "csm_team", "am_owner", "am_team",
            "primary_reason", "secondary_reason_1", "secondary_reason_2", "recorded_by",
        )  # fmt: skip
        return self.visibility.cases(cases)

    def perform_update(self, serializer):
        self._save(serializer, recorded_by=self.request.user, recorded_at=timezone.now())
