"""REST API of the outlook: renewals (JSON pages or ``?format=csv``, same columns)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers
from rest_framework.exceptions import PermissionDenied

from metrics.scoping import visibility

from api.csvstream import csv_response
from api.serializers import KeyField
from api.views import FORMAT_PARAMETER, ApiViewSet, ListWithCsv
from metrics.recompute import triggers

from .forms import default_range
from .renewals import ROLES, STATUSES, load_renewals
from .views import RENEWAL_COLUMNS, renewal_record


class RenewalQuery(serializers.Serializer):
    """Which renewals: lines whose end date is within from..to (default: this month and the next two)."""

    # "from" is a Python keyword: declared below.
    to = serializers.DateField(required=False, help_text="Last end date (ISO).")
    role = serializers.ChoiceField(ROLES, required=False, default="csm", help_text="Role whose owner and team on the end date `team` and `owner` filter on.")
    team = serializers.CharField(required=False, help_text="Team name (the role's owner's team on the end date).")
    owner = serializers.EmailField(required=False, help_text="Owner email (the role's owner on the end date).")
    status = serializers.ChoiceField(STATUSES, required=False, help_text="renewed, open or lapsed.")

    def validate(self, attrs):
        start, end = default_range(triggers.today())
        attrs["from"] = attrs.get("from") or start
        attrs["to"] = attrs.get("to") or end
        if attrs["to"] < attrs["from"]:
            raise serializers.ValidationError({"to": ["`to` is before `from`."]})
        if (attrs["to"] - attrs["from"]).days > 3 * 366:
            raise serializers.ValidationError({"to": ["Ask for at most three years at a time."]})
        return attrs


RenewalQuery._declared_fields["from"] = serializers.DateField(required=False, help_text="First end date (ISO).")


class RenewalSerializer(serializers.Serializer):
    end_date = serializers.DateField()
    customer_external_id = serializers.CharField()
    customer = serializers.CharField()
    product = serializers.CharField()
    line_external_id = serializers.CharField()
    arr = serializers.CharField(help_text="Two decimals.")
    status = serializers.ChoiceField(STATUSES)
    risk = serializers.CharField(help_text="healthy, at_risk, likely_to_churn, or empty when never marked.")
    expected_loss = serializers.CharField(allow_blank=True)
    csm_owner = serializers.CharField()
    csm_team = serializers.CharField()
    am_owner = serializers.CharField()
    am_team = serializers.CharField()

    def to_representation(self, instance):
        return instance  # already a record of plain values (outlook.views.renewal_record)


class RenewalViewSet(ApiViewSet):
    """Contract lines up for renewal (SPEC section 8), sorted by end date, scoped like the pages:
    status (renewed, open, lapsed under RENEWAL_GRACE_DAYS), current risk mark, owners and teams
    on the end date."""

    serializer_class = RenewalSerializer
    filter_backends = []

    @extend_schema(parameters=[RenewalQuery, FORMAT_PARAMETER])
    def list(self, request, *args, **kwargs):
        query = RenewalQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        q, vis = query.validated_data, self.visibility
        team_id = owner_id = None
        if q.get("team"):
            team = vis.teams().filter(name=q["team"]).first()
            if team is None:
                raise Http404("No such team.")
            team_id = team.pk
        if q.get("owner"):
            owner = vis.users().filter(email__iexact=q["owner"]).first()
            if owner is None:
                raise Http404("No such owner.")
            owner_id = owner.pk
        rows = load_renewals(vis, q["from"], q["to"], triggers.today(), settings.RENEWAL_GRACE_DAYS, role=q["role"],
                             team_id=team_id, owner_id=owner_id, status=q.get("status", ""))  # fmt: skip
        records = [renewal_record(r) for r in rows]
        if request.accepted_renderer.format == "csv":
            return csv_response(RENEWAL_COLUMNS, records, "renewals")
        page = self.paginate_queryset(records)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --- risk marks -------------------------------------------------------------------------------


class VisibleCustomerField(KeyField):
    """A customer by external_id, among those the caller may see (others: "does not exist")."""

    def get_queryset(self):
        from metrics.models import Customer

        request = self.context.get("request")
        return visibility(request).customers(Customer.objects.all()) if request else Customer.objects.none()


class RiskMarkSerializer(serializers.ModelSerializer):
    customer = VisibleCustomerField(slug_field="external_id", help_text="Customer external_id.")
    recorded_by: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="email", read_only=True)

    class Meta:
        from .models import RiskMark

        model = RiskMark
        fields = ["id", "customer", "status", "expected_loss", "noted_on", "note", "recorded_by", "recorded_at"]
        read_only_fields = ["id", "recorded_by", "recorded_at"]

    def validate(self, attrs):
        from .forms import RiskMarkForm

        form = RiskMarkForm(
            {"status": attrs.get("status"), "expected_loss": attrs.get("expected_loss") or "", "noted_on": attrs.get("noted_on"),
             "note": attrs.get("note", "")},
            today=triggers.today(),
        )  # fmt: skip
        if not form.is_valid():
            raise serializers.ValidationError({name: [str(e) for e in errors] for name, errors in form.errors.items()})
        request = self.context["request"]
        if not visibility(request).can_mark_risk(attrs["customer"].pk, triggers.today()):
            raise PermissionDenied("Only the account's owners, their team leads and admins mark its risk.")
        return {**attrs, "expected_loss": form.cleaned_data["expected_loss"]}


class RiskMarkViewSet(mixins.CreateModelMixin, ListWithCsv, ApiViewSet):
    """Risk marks (SPEC section 8), newest first: every change is a new mark, none is edited.
    POST marks an account (owners of the account, their team leads, admins)."""

    serializer_class = RiskMarkSerializer
    filter_backends = []

    def get_queryset(self):
        from .models import RiskMark

        qs = self.visibility.customer_related(RiskMark.objects.all()).select_related("customer", "recorded_by").order_by("-id")
        customer = self.request.query_params.get("customer")
        return qs.filter(customer__external_id=customer) if customer else qs

    def perform_create(self, serializer):
        self._save(serializer, recorded_by=self.request.user)


# --- targets ----------------------------------------------------------------------------------


class TargetSerializer(serializers.Serializer):
    """A target as targets.csv writes it: rates as ratios (1.0500), scope_key a team name or an email."""

    id = serializers.IntegerField(read_only=True)
    fiscal_year = serializers.IntegerField(min_value=2000, max_value=2100)
    scope_type = serializers.ChoiceField(["company", "team", "owner"])
    scope_key = serializers.CharField(allow_blank=True, required=False, default="")
    role = serializers.ChoiceField(["", "csm", "am"], required=False, default="")
    nrr = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True, required=False)
    grr = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True, required=False)

    def to_representation(self, t):
        return {"id": t.pk, "fiscal_year": t.fiscal_year, "scope_type": t.scope_type, "scope_key": t.scope_key, "role": t.role,
                "nrr": None if t.nrr is None else f"{t.nrr:.4f}", "grr": None if t.grr is None else f"{t.grr:.4f}"}  # fmt: skip

    def validate(self, attrs):
        """The same rules as the import: one row of targets.csv."""
        import csv as _csv
        import io as _io

        from .targets import COLUMNS, validate_rows

        row = {**attrs, "nrr": "" if attrs.get("nrr") is None else str(attrs["nrr"]), "grr": "" if attrs.get("grr") is None else str(attrs["grr"])}
        buffer = _io.StringIO()
        writer = _csv.DictWriter(buffer, COLUMNS)
        writer.writeheader()
        writer.writerow({c: row.get(c, "") for c in COLUMNS})
        wanted, issues = validate_rows(buffer.getvalue(), "request")
        if issues.error_count:
            raise serializers.ValidationError({(e.column or "non_field_errors"): [e.message] for e in issues.errors})
        return {"row": wanted[0]}

    def create(self, validated):
        from .targets import save_targets

        return save_targets([validated["row"]], self.context["request"].user)[0]

    def update(self, instance, validated):
        from .targets import save_targets

        validated = validated["row"]
        (fy, scope_type, team_id, user_id, role), *_ = validated
        if (instance.fiscal_year, instance.scope_type, instance.team_id, instance.user_id, instance.role) != (fy, scope_type, team_id, user_id, role):
            raise serializers.ValidationError({"scope_key": ["A target's year and scope do not change; add a new target."]})
        return save_targets([validated], self.context["request"].user)[0]


class AdminSetsTargets(permissions.BasePermission):
    message = "Only admins set targets."

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or visibility(request).is_admin


class TargetViewSet(mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin,
                    ListWithCsv, ApiViewSet):  # fmt: skip
    """Yearly NRR and GRR targets (SPEC section 8), filtered by ``fiscal_year``; everyone reads the
    targets of the scopes it sees, admins write them."""

    serializer_class = TargetSerializer
    filter_backends = []

    def get_permissions(self):
        return [*super().get_permissions(), AdminSetsTargets()]

    def get_queryset(self):
        from django.db.models import Q

        from .models import Target

        vis = self.visibility
        qs = Target.objects.select_related("team", "user").order_by("-fiscal_year", "scope_type", "team__name", "user__email", "role")
        if not vis.sees_everything:
            qs = qs.filter(Q(scope_type="team", team__in=vis.teams()) | Q(scope_type="owner", user__in=vis.users()))
        year = self.request.query_params.get("fiscal_year")
        if year:
            if not year.isdigit():
                raise serializers.ValidationError({"fiscal_year": ["A year, e.g. 2026."]})
            qs = qs.filter(fiscal_year=int(year))
        return qs
