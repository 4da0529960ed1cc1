"""REST API v1: thin views over the precomputed tables, scoped by ``metrics.scoping.Visibility``.

Every queryset passes through Visibility, and single objects are looked up in the scoped
queryset, so an id of another team's or owner's object answers 404. Lists answer JSON pages or,
with ``?format=csv``, a streamed CSV of every row with the same columns.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts.models import Team, TeamMembership, User
from metrics.models import Assignment, ChurnCase, ChurnReason, ContractLine, Customer, FxRate, RetentionSnapshot
from metrics.pareto import ORDER_BY_LOST_ARR, ORDERINGS, coverage_of, pareto_rows
from metrics.reasons import REASON_FIELDS, ReasonForm
from metrics.scoping import Visibility, visibility

from . import filters, serializers
from .csvstream import CSVRenderer, csv_response
from .permissions import AdminWrites, RecordsReasons

# Rows fetched per round trip when a CSV streams a whole table.
CSV_FETCH_ROWS = 2000
FORMAT_PARAMETER = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=["json", "csv"], description="csv: every row (no pages) as a CSV download."
)


class Pages(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


# --- the shared base ------------------------------------------------------------------------


class ApiViewSet(viewsets.GenericViewSet):
    renderer_classes = [JSONRenderer, CSVRenderer]
    pagination_class = Pages
    lookup_value_regex = r"\d+"

    @property
    def visibility(self) -> Visibility:
        return visibility(self.request)

    # Throttles run before the permission check, and also when credentials fail, so that
    # anonymous callers and token guessers meet the rate limit (429), not an endless 401.
    def perform_authentication(self, request):
        try:
            request.user  # noqa: B018  (reading it authenticates the request)
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
            raise ValidationError(
                {"non_field_errors": ["This change conflicts with data saved meanwhile; reload and retry."]}
            ) from None


class ListWithCsv(mixins.ListModelMixin):
    """JSON pages, or with ``?format=csv`` every row streamed, formatted by the same serializer."""

    def list(self, request, *args, **kwargs):
        rows = self.list_rows()
        if request.accepted_renderer.format == "csv":
            serializer = self.get_serializer()
            columns = [name for name, field in serializer.fields.items() if not field.write_only]
            if isinstance(rows, QuerySet):
                # A server-side cursor read in chunks: a million rows never sit in memory.
                rows = rows.iterator(chunk_size=CSV_FETCH_ROWS)
            return csv_response(columns, map(serializer.to_representation, rows), self.basename)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def list_rows(self):
        return self.filter_queryset(self.get_queryset())


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


class MovementViewSet(ApiViewSet):
    """The accounts behind the retention rows of one period: one customer (or customer and
    product) each, answered on demand from the inputs the rows were computed from."""

    serializer_class = serializers.MovementRowSerializer
    filter_backends = []  # MovementQuery reads the parameters

    @extend_schema(parameters=[filters.MovementQuery, FORMAT_PARAMETER])
    def list(self, request, *args, **kwargs):
        query = filters.MovementQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = query.rows(self.visibility)
        if request.accepted_renderer.format == "csv":
            serializer = self.get_serializer(context={"names": serializers.Names.everyone()})
            return csv_response(list(serializer.fields), map(serializer.to_representation, rows), self.basename)
        page = self.paginate_queryset(rows)
        serializer = self.get_serializer(page, many=True, context={"names": serializers.Names.of(page)})
        return self.get_paginated_response(serializer.data)


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


class WritableViewSet(
    ListWithCsv, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, ApiViewSet
):
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
class FxRateViewSet(mixins.DestroyModelMixin, WritableViewSet):
    """Exchange rates into the reporting currency (SPEC section 7). Everyone signed in reads them
    (every figure is converted with them); admins add, change and delete them, and every change
    queues a full recompute. The last rate of a currency that contract lines use cannot go."""

    serializer_class = serializers.FxRateSerializer
    filterset_class = filters.FxRateFilter
    ordering_fields = ["currency", "valid_from"]
    ordering = ["currency", "valid_from"]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    queryset = FxRate.objects.all()

    def perform_destroy(self, instance):
        with transaction.atomic():
            if FxRate.last_of_a_currency_in_use(FxRate.objects.select_for_update().get(pk=instance.pk)):
                raise ValidationError(
                    {
                        "currency": [
                            f"Contract lines are in {instance.currency}: its last rate cannot be deleted (change it instead)."
                        ]
                    }
                )
            instance.delete()


@extend_schema_view(list=list_schema)
class AssignmentViewSet(WritableViewSet):
    serializer_class = serializers.AssignmentSerializer
    filterset_class = filters.AssignmentFilter
    ordering_fields = ["start_date", "end_date", "role"]
    ordering = ["customer__name", "customer_id", "role", "start_date"]

    def get_queryset(self):
        return self.visibility.customer_related(Assignment.objects.select_related("customer", "user"))


@extend_schema_view(
    list=list_schema,
    update=extend_schema(request=serializers.ReasonInputSerializer, responses=serializers.ChurnCaseSerializer),
    partial_update=extend_schema(request=serializers.ReasonInputSerializer, responses=serializers.ChurnCaseSerializer),
)
class ChurnCaseViewSet(ListWithCsv, mixins.RetrieveModelMixin, ApiViewSet):
    """Churn and contraction cases with their reasons; admins, and leads for their teams, record reasons."""

    serializer_class = serializers.ChurnCaseSerializer
    filterset_class = filters.ChurnCaseFilter
    permission_classes = [permissions.IsAuthenticated, RecordsReasons]
    http_method_names = ["get", "put", "patch", "head", "options"]
    ordering_fields = ["date", "lost_arr", "kind"]
    ordering = ["-date", "customer__name", "id"]

    def get_queryset(self):
        cases = ChurnCase.objects.select_related(
            "customer",
            "csm_owner",
            "csm_team",
            "am_owner",
            "am_team",
            "primary_reason",
            "secondary_reason_1",
            "secondary_reason_2",
            "recorded_by",
        )
        return self.visibility.cases(cases)

    def update(self, request, *args, partial=False, **kwargs):
        case = self.get_object()  # 404 outside the caller's scope, then 403 without the right
        given = serializers.ReasonInputSerializer(data=request.data, partial=partial)
        given.is_valid(raise_exception=True)
        # PATCH keeps what it does not mention; PUT replaces all of it.
        data = {name: getattr(getattr(case, name), "code", "") for name in REASON_FIELDS} if partial else {}
        data["notes"] = case.notes if partial else ""
        data.update({name: value or "" for name, value in given.validated_data.items()})
        form = ReasonForm(data, case=case)
        if not form.is_valid():
            raise ValidationError(form_errors(form))
        form.save(request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=case.pk)).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


def form_errors(form) -> dict:
    """A Django form's errors as DRF's field-by-field body."""
    return {
        api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field: list(messages)
        for field, messages in form.errors.items()
    }


# --- churn reason Pareto --------------------------------------------------------------------

ORDER_BY_PARAMETER = OpenApiParameter(
    "order_by", OpenApiTypes.STR, enum=list(ORDERINGS), description="Rank by lost ARR (default) or by case count."
)


@extend_schema_view(
    list=extend_schema(parameters=[FORMAT_PARAMETER, ORDER_BY_PARAMETER]),
    coverage=extend_schema(filters=True, responses=serializers.CoverageSerializer),
)
class ParetoViewSet(ListWithCsv, ApiViewSet):
    """Churn reason Pareto over the caller's cases (void ones never count), with the case filters;
    ``coverage`` gives the share of lost ARR whose cases have a primary reason."""

    serializer_class = serializers.ParetoRowSerializer
    filterset_class = filters.ChurnCaseFilter
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):
        return self.visibility.cases(ChurnCase.objects.all())

    def list_rows(self):
        order_by = self.request.query_params.get("order_by") or ORDER_BY_LOST_ARR
        if order_by not in ORDERINGS:
            raise ValidationError({"order_by": [f"Use one of: {', '.join(ORDERINGS)}."]})
        return pareto_rows(self.filter_queryset(self.get_queryset()), order_by)

    @action(detail=False)
    def coverage(self, request, *args, **kwargs):
        return Response(serializers.CoverageSerializer(coverage_of(self.list_rows())).data)
