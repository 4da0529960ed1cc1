"""Query filters of the API. A malformed value is a 400 naming the parameter, never a 500.

The lists of tables filter querysets (django-filter); the movements endpoint, whose rows are
answered on demand (``metrics.recompute.accounts``), reads its parameters with ``MovementQuery``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, TypedDict

import django_filters as filters
from django import forms
from django.conf import settings
from django.db import models
from django.db.models import Q
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from accounts.models import Role, Team, TeamFunction, User
from metrics.engine import Period
from metrics.models import (
    Assignment,
    AssignmentRole,
    CaseKind,
    ChurnCase,
    ChurnReason,
    ContractLine,
    Customer,
    FxRate,
    Granularity,
    Movement,
    ReasonCategory,
    RetentionSnapshot,
    ScopeType,
)
from metrics.queries import Figure, Scope
from metrics.recompute import accounts
from metrics.vocabulary import COMPANY, OWNER, QUARTER, ROLES, TEAM, UNASSIGNED, YEAR

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class _DateFormats(TypedDict):
    input_formats: list[str]
    error_messages: dict[str, StrOrPromise]


ISO_DATE: _DateFormats = {
    "input_formats": ["%Y-%m-%d"],
    "error_messages": {"invalid": "Enter a valid date as YYYY-MM-DD."},
}
SCOPE_ROLES = [(role, role) for role in ROLES]


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0); anything else is an error, not silently "no filter"."""

    widget = forms.TextInput  # hands over the raw text, which the default select widget would drop

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in (True, "true", "True", "1"):
            return True
        if value in (False, "false", "False", "0"):
            return False
        raise forms.ValidationError("Use true or false.", code="invalid")


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField


class ApiFilterSet(filters.FilterSet):
    FILTER_DEFAULTS = {**filters.FilterSet.FILTER_DEFAULTS, models.BooleanField: {"filter_class": StrictBooleanFilter}}


def iso_date(field_name: str, lookup_expr: str = "exact", help_text: str = "") -> filters.DateFilter:
    return filters.DateFilter(field_name=field_name, lookup_expr=lookup_expr, help_text=help_text, **ISO_DATE)


def running_on(queryset, name, value):
    """Rows whose span (end inclusive, empty = open) covers the day."""
    return queryset.filter(Q(end_date__isnull=True) | Q(end_date__gte=value), start_date__lte=value)


class RetentionFilter(ApiFilterSet):
    granularity = filters.ChoiceFilter(choices=Granularity.choices)
    scope_type = filters.ChoiceFilter(choices=ScopeType.choices)
    scope_key = filters.CharFilter()
    role = filters.ChoiceFilter(choices=SCOPE_ROLES)
    closed = StrictBooleanFilter(
        method="filter_closed", help_text="true: only rows of closed periods; false: only the others."
    )
    restated = StrictBooleanFilter(
        method="filter_restated",
        help_text="true: only rows of closed periods whose live figures now differ from the reported ones.",
    )

    class Meta:
        model = RetentionSnapshot
        fields = ["granularity", "scope_type", "scope_key", "role", "partial"]

    def filter_closed(self, queryset, name, value):
        from closing.reported import closed_filter

        return queryset if value is None else closed_filter(queryset, value)

    def filter_restated(self, queryset, name, value):
        from closing.reported import restated_filter

        if value is None:
            return queryset
        return (
            restated_filter(queryset)
            if value
            else queryset.exclude(id__in=restated_filter(RetentionSnapshot.objects.all()).values("id"))
        )


# "from" and "to" are Python keywords, so they are added by name.
RetentionFilter.base_filters["from"] = iso_date("period_start", "gte", "Periods starting on or after this day.")
RetentionFilter.base_filters["to"] = iso_date("period_start", "lte", "Periods starting on or before this day.")


MOVEMENT_ORDERINGS = ["name", "external_id", "starting_arr", "ending_arr", "change"]
PERIOD_MONTHS = {QUARTER: 3, YEAR: 12}  # periods aligned on the fiscal year; months and TTM windows start any month


class MovementQuery(serializers.Serializer):
    """The query parameters of the movements endpoint: the accounts behind the retention rows of
    one period (``granularity`` and ``period_start``), optionally of one row's scope
    (``scope_type``, ``scope_key``, ``role``), narrowed further by the other filters. Empty
    optional values mean no filter. ``rows()`` gives the rows a valid query asks for."""

    granularity = serializers.ChoiceField(choices=Granularity.choices, help_text="The retention row's granularity.")
    period_start = serializers.DateField(
        help_text="The retention row's period_start: a month's first day (a TTM window's too); a quarter's "
        "or a year's follows the fiscal year (FISCAL_YEAR_START_MONTH).",
        **ISO_DATE,
    )
    scope_type = serializers.ChoiceField(choices=ScopeType.choices, required=False, allow_blank=True)
    scope_key = serializers.CharField(
        required=False, allow_blank=True, help_text="With scope_type; the retention row's scope_key."
    )
    role = serializers.ChoiceField(
        choices=SCOPE_ROLES, required=False, allow_blank=True, help_text="With team and owner scopes."
    )
    movement = serializers.MultipleChoiceField(
        choices=Movement.choices, required=False, allow_blank=True, help_text="One or more (repeat the parameter)."
    )
    customer = serializers.CharField(required=False, allow_blank=True, help_text="The customer's external_id.")
    product = serializers.CharField(
        required=False, allow_blank=True, help_text="Only this product's rows (of a product scope or of no scope)."
    )
    csm_owner = serializers.CharField(
        required=False, allow_blank=True, help_text="The CSM's email on the period's first day."
    )
    am_owner = serializers.CharField(
        required=False, allow_blank=True, help_text="The account manager's email on the period's first day."
    )
    csm_team = serializers.CharField(
        required=False, allow_blank=True, help_text="The CSM's team name on the period's first day."
    )
    am_team = serializers.CharField(
        required=False, allow_blank=True, help_text="The account manager's team name on the period's first day."
    )
    segment = serializers.CharField(required=False, allow_blank=True)
    region = serializers.CharField(required=False, allow_blank=True)
    industry = serializers.CharField(required=False, allow_blank=True)
    use_case = serializers.CharField(required=False, allow_blank=True)
    tenure_band = serializers.CharField(
        required=False, allow_blank=True, help_text="0-6, 6-12, 12-24 or 24+ (whole months)."
    )
    ordering = serializers.ChoiceField(
        choices=[f"{sign}{key}" for key in MOVEMENT_ORDERINGS for sign in ("", "-")],
        required=False,
        allow_blank=True,
        help_text="Sort key, - first for descending (default: name); ties by customer, then product.",
    )

    def validate_period_start(self, value: date) -> date:
        if not date(1000, 1, 1) <= value <= date(9998, 12, 1):
            raise serializers.ValidationError("Give a period start from year 1000 to 9998.")
        if value.day != 1:
            raise serializers.ValidationError("A period starts on the first day of a month.")
        return value

    def validate(self, attrs):
        granularity, start = attrs["granularity"], attrs["period_start"]
        length = PERIOD_MONTHS.get(granularity)
        if length and (start.month - settings.FISCAL_YEAR_START_MONTH) % length:
            first = sorted((settings.FISCAL_YEAR_START_MONTH - 1 + n) % 12 + 1 for n in range(0, 12, length))
            raise ValidationError(
                {"period_start": [f"A {granularity} starts on the first day of month {', '.join(map(str, first))}."]}
            )
        return attrs

    def rows(self, visibility) -> AccountList:
        """The rows the (valid) query asks for, as the caller may see them. A name (team, owner,
        customer) that matches nothing gives no rows; each is looked up once, never per row."""
        given = {name: value for name, value in self.validated_data.items() if value not in ("", None)}
        movements = set(given.pop("movement", ())) - {""}
        if "scope_key" in given and "scope_type" not in given:
            raise ValidationError({"scope_key": ["Give scope_type with scope_key."]})
        inputs = accounts.Inputs.current()
        found = AccountList(
            inputs.version,
            inputs.period(given["granularity"], given["period_start"]),
            visible=accounts.Visible.of(visibility),
            sort=given.get("ordering", "name"),
        )
        if "scope_type" in given:
            found.scope = scope_from_row(given["scope_type"], given.get("scope_key", ""), given.get("role", ""))
            if found.scope is None:
                return found.nothing()  # no such team or owner
        if given["period_start"] > inputs.as_of:
            return found.nothing()  # a period that has not begun has no rows (nor retention rows)
        if (
            found.scope is not None
            and found.scope.type == "product"
            and given.get("product", found.scope.key) != found.scope.key
        ):
            return found.nothing()  # another product's rows within a product's scope
        if movements:
            found.figure = Figure("movement", "", tuple(sorted(movements)), None)
        narrowing = {
            name: given[name]
            for name in ("segment", "region", "industry", "use_case", "tenure_band", "product")
            if name in given
        }
        if "customer" in given:
            narrowing["customer_ids"] = frozenset(
                Customer.objects.filter(external_id=given["customer"]).values_list("id", flat=True)
            )
        for role in ROLES:
            for kind, model, field in ((OWNER, User, "email__iexact"), (TEAM, Team, "name")):
                if f"{role}_{kind}" in given:
                    object_id = (
                        model.objects.filter(**{field: given[f"{role}_{kind}"]}).values_list("id", flat=True).first()
                    )
                    if object_id is None:
                        return found.nothing()  # no such owner or team
                    narrowing[f"{role}_{kind}_id"] = object_id
        found.filters = accounts.Filters(**narrowing)
        return found


@dataclass
class AccountList:
    """The account rows of one movements request, read as Django's paginator reads a queryset:
    ``count()`` (the totals' count), then one slice (one page, by LIMIT and OFFSET); or every row
    in order, streamed (iteration)."""

    version: int
    period: Period
    scope: Scope | None = None
    figure: Figure | None = None
    visible: accounts.Visible | None = None
    filters: accounts.Filters | None = None
    sort: str = "name"
    empty: bool = False

    def nothing(self) -> AccountList:
        self.empty = True
        return self

    def _ask(self) -> dict:
        return {"figure": self.figure, "visible": self.visible, "filters": self.filters}

    def count(self) -> int:
        return (
            0 if self.empty else accounts.account_totals(self.version, self.period, self.scope, **self._ask()).accounts
        )

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, page: slice) -> list[accounts.AccountRow]:
        limit = page.stop - page.start
        if self.empty or limit <= 0:
            return []
        return accounts.account_rows(
            self.version, self.period, self.scope, sort=self.sort, limit=limit, offset=page.start, **self._ask()
        )

    def __iter__(self) -> Iterator[accounts.AccountRow]:
        if self.empty:
            return iter(())
        return accounts.iter_account_rows(self.version, self.period, self.scope, sort=self.sort, **self._ask())


def scope_from_row(scope_type: str, key: str, role: str) -> Scope | None:
    """The Scope of a retention row's (scope_type, scope_key, role); None when no such team or owner."""
    if scope_type in (TEAM, OWNER):
        if not role:
            raise ValidationError({"role": [f"Give role (csm or am) with scope_type={scope_type}."]})
        if key == UNASSIGNED:
            return Scope(scope_type, UNASSIGNED, role)
        model, field = (Team, "name") if scope_type == TEAM else (User, "email__iexact")
        found = model.objects.filter(**{field: key}).first()
        if found is None:
            return None
        return Scope.team(found, role) if isinstance(found, Team) else Scope.owner(found, role)
    if scope_type == COMPANY:
        return Scope.company()
    if not key:
        raise ValidationError({"scope_key": [f"Give scope_key with scope_type={scope_type}."]})
    return Scope(scope_type, key)


class CustomerFilter(ApiFilterSet):
    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Customer
        fields = ["external_id", "name", "segment", "region", "industry", "use_case"]


class ContractLineFilter(ApiFilterSet):
    customer = filters.CharFilter(field_name="customer__external_id", help_text="The customer's external_id.")
    active_on = filters.DateFilter(method=running_on, help_text="Lines running on this day.", **ISO_DATE)

    class Meta:
        model = ContractLine
        fields = ["external_id", "customer", "product", "currency"]


class FxRateFilter(ApiFilterSet):
    currency = filters.CharFilter(lookup_expr="iexact", help_text="ISO 4217 code, any case.")
    in_force_on = filters.DateFilter(
        method="in_force", help_text="Per currency, the rate in force on this day.", **ISO_DATE
    )

    class Meta:
        model = FxRate
        fields = ["currency"]

    def in_force(self, queryset, name, value):
        chosen = {}  # a handful of rows: the latest on or before the day, else the earliest
        for pk, code, day in FxRate.objects.order_by("currency", "valid_from").values_list(
            "id", "currency", "valid_from"
        ):
            if day <= value or code not in chosen:
                chosen[code] = pk
        return queryset.filter(id__in=chosen.values())


class AssignmentFilter(ApiFilterSet):
    customer = filters.CharFilter(field_name="customer__external_id", help_text="The customer's external_id.")
    user = filters.CharFilter(field_name="user__email", lookup_expr="iexact", help_text="The owner's email.")
    role = filters.ChoiceFilter(choices=AssignmentRole.choices)
    active_on = filters.DateFilter(method=running_on, help_text="Assignments held on this day.", **ISO_DATE)

    class Meta:
        model = Assignment
        fields = ["customer", "user", "role"]


class TeamFilter(ApiFilterSet):
    function = filters.ChoiceFilter(choices=TeamFunction.choices)

    class Meta:
        model = Team
        fields = ["name", "function"]


class UserFilter(ApiFilterSet):
    email = filters.CharFilter(lookup_expr="iexact")
    role = filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = User
        fields = ["email", "role", "is_active"]


class ChurnCaseFilter(ApiFilterSet):
    customer = filters.CharFilter(field_name="customer__external_id", help_text="The customer's external_id.")
    kind = filters.ChoiceFilter(choices=CaseKind.choices)
    primary_reason = filters.CharFilter(field_name="primary_reason__code")
    no_reason = StrictBooleanFilter(
        field_name="primary_reason", lookup_expr="isnull", help_text="Cases with no primary reason yet."
    )
    csm_owner = filters.CharFilter(field_name="csm_owner__email", lookup_expr="iexact")
    am_owner = filters.CharFilter(field_name="am_owner__email", lookup_expr="iexact")
    csm_team = filters.CharFilter(field_name="csm_team__name")
    am_team = filters.CharFilter(field_name="am_team__name")
    segment = filters.CharFilter(field_name="customer__segment")

    class Meta:
        model = ChurnCase
        fields = ["customer", "kind", "void"]


ChurnCaseFilter.base_filters["from"] = iso_date("date", "gte", "Cases dated on or after this day.")
ChurnCaseFilter.base_filters["to"] = iso_date("date", "lte", "Cases dated on or before this day.")


class ReasonFilter(ApiFilterSet):
    category = filters.ChoiceFilter(choices=ReasonCategory.choices)

    class Meta:
        model = ChurnReason
        fields = ["code", "category", "active"]
