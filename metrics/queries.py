"""Read-side helpers over the precomputed tables, shared by the pages and the API.

Nothing here computes a metric: snapshot figures come from RetentionSnapshot, and the
accounts behind a figure are answered on demand (``metrics.recompute.accounts``) from the
frozen inputs those figures were computed from, for the same period and scope. A drill-down's
total is only the sum of the rows it lists, so that it can be checked against the figure.

Callers pass querysets already narrowed by ``metrics.scoping.Visibility`` (``snapshots()``,
``cases()``); these helpers narrow further, they never widen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from .models import ChurnCase, PendingRecompute, RecomputeStatus, RetentionSnapshot, SnapshotMembership
from .vocabulary import CHURN, COMPANY, CONTRACTION, EXPANSION, NEW, NO_CHANGE, OWNER, REACTIVATION, TEAM, UNASSIGNED

if TYPE_CHECKING:
    from accounts.models import Team, User

    from .engine import AccountFigures

ZERO = Decimal("0")
COHORT = (EXPANSION, CONTRACTION, CHURN, NO_CHANGE)  # the accounts with ARR on s-1
ALL_MOVEMENTS = (*COHORT, NEW, REACTIVATION)


# --- scopes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """One scope of the retention rows: ``key`` is the snapshot's scope_key.

    For team and owner scopes ``object_id`` is the Team or User id (None: unassigned), since
    the inputs hold ids while snapshots hold the team name or the owner's email.
    """

    type: str
    key: str = ""
    role: str = ""
    object_id: int | None = None

    @classmethod
    def company(cls) -> Scope:
        return cls(COMPANY)

    @classmethod
    def team(cls, team: Team | None, role: str) -> Scope:
        return cls(TEAM, team.name, role, team.pk) if team else cls(TEAM, UNASSIGNED, role)

    @classmethod
    def owner(cls, user: User | None, role: str) -> Scope:
        return cls(OWNER, user.email, role, user.pk) if user else cls(OWNER, UNASSIGNED, role)

    @property
    def snapshot_filter(self) -> Q:
        return Q(scope_type=self.type, scope_key=self.key, role=self.role)

    @property
    def case_filter(self) -> Q:
        """Churn cases of a team or owner scope (owned on the day before the drop)."""
        if self.type not in (TEAM, OWNER):
            return Q()
        column = f"{self.role}_{self.type}_id"
        return Q(**{column: self.object_id} if self.object_id else {f"{column}__isnull": True})


# --- snapshots ----------------------------------------------------------------------------


def snapshot(
    snapshots: QuerySet[RetentionSnapshot], scope: Scope, granularity: str, period_start: date
) -> RetentionSnapshot | None:
    return snapshots.filter(scope.snapshot_filter, granularity=granularity, period_start=period_start).first()


def snapshot_series(snapshots: QuerySet[RetentionSnapshot], scope: Scope, granularity: str) -> list[RetentionSnapshot]:
    """Every period of one scope and granularity, oldest first."""
    return list(snapshots.filter(scope.snapshot_filter, granularity=granularity).order_by("period_start"))


def snapshot_rows(
    snapshots: QuerySet[RetentionSnapshot], scope_type: str, granularity: str, period_start: date, role: str = ""
) -> list[RetentionSnapshot]:
    """Every scope of one type (every team, every segment, ...) for one period."""
    return list(
        snapshots.filter(scope_type=scope_type, role=role, granularity=granularity, period_start=period_start).order_by(
            "scope_key"
        )
    )


def periods(snapshots: QuerySet[RetentionSnapshot], scope: Scope, granularity: str) -> list[tuple[date, date, bool]]:
    """(period_start, period_end, partial) of every period the scope has a row for, newest first."""
    return list(
        snapshots.filter(scope.snapshot_filter, granularity=granularity)
        .order_by("-period_start")
        .values_list("period_start", "period_end", "partial")
    )


def last_complete(snapshots: QuerySet[RetentionSnapshot], scope: Scope, granularity: str) -> RetentionSnapshot | None:
    """The scope's row for the latest period that is over (not partial)."""
    return (
        snapshots.filter(scope.snapshot_filter, granularity=granularity, partial=False)
        .order_by("-period_start")
        .first()
    )


def scope_keys(snapshots: QuerySet[RetentionSnapshot], scope_type: str) -> list[str]:
    """The values a slice takes (every segment, product, ...), for choosing one."""
    return list(
        snapshots.filter(scope_type=scope_type).order_by("scope_key").values_list("scope_key", flat=True).distinct()
    )


# --- figures and the accounts behind them -------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A figure of a snapshot row, with the movement rows behind it and each row's share of it."""

    name: str
    label: str
    movements: tuple[str, ...]
    amount: Callable[[AccountFigures], Decimal] | None  # an account row's share; None: a rate or a count
    is_rate: bool = False

    @property
    def is_money(self) -> bool:
        return self.amount is not None

    def of(self, row: RetentionSnapshot) -> Decimal | int | None:
        """The figure's value on a snapshot row (None when undefined)."""
        if self.name == "arr_end":
            return total_arr_at_end(row)
        if self.name == "logo_retention":
            return row.logo_retention
        value: Decimal | int | None = getattr(row, self.name)
        return value


FIGURES: dict[str, Figure] = {
    f.name: f
    for f in (
        Figure("starting_arr", "Starting ARR", COHORT, lambda m: m.starting_arr),
        Figure("new_arr", "New", ("new",), lambda m: m.ending_arr),
        Figure("reactivation_arr", "Reactivation", ("reactivation",), lambda m: m.ending_arr),
        Figure("expansion", "Expansion", ("expansion",), lambda m: m.ending_arr - m.starting_arr),
        Figure("upsell", "Upsell", ("expansion",), lambda m: m.ending_arr - m.starting_arr - m.cross_sell),
        Figure("cross_sell", "Cross-sell", ("expansion",), lambda m: m.cross_sell),
        Figure("contraction", "Contraction", ("contraction",), lambda m: m.starting_arr - m.ending_arr),
        Figure("churn", "Churn", ("churn",), lambda m: m.starting_arr),
        Figure("ending_arr", "Ending ARR (cohort)", COHORT, lambda m: m.ending_arr),
        Figure("arr_end", "ARR at period end", ALL_MOVEMENTS, lambda m: m.ending_arr),
        Figure("nrr", "NRR", COHORT, None, is_rate=True),
        Figure("grr", "GRR", COHORT, None, is_rate=True),
        Figure("logo_retention", "Logo retention", COHORT, None, is_rate=True),
        Figure("logos_start", "Logos at start", COHORT, None),
        Figure("logos_churned", "Churned logos", ("churn",), None),
    )
}


def total_arr_at_end(row: RetentionSnapshot) -> Decimal:
    """Total ARR on the period's last day: the cohort's ending ARR plus new and reactivated ARR."""
    return row.ending_arr + (row.new_arr or ZERO) + (row.reactivation_arr or ZERO)


def cases_in_period(
    cases: QuerySet[ChurnCase], scope: Scope, period_start: date, period_end: date
) -> QuerySet[ChurnCase]:
    """Churn and contraction cases dated inside a period, for a team or owner scope (void ones left out)."""
    return (
        cases.filter(scope.case_filter, void=False, date__gte=period_start, date__lte=period_end)
        .select_related("customer", "primary_reason")
        .order_by("-date", "customer__name")
    )


def members_on(version: int, day: date) -> QuerySet[SnapshotMembership]:
    """Frozen memberships (of the figures' inputs) that cover a day."""
    return SnapshotMembership.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=day), version=version, start_date__lte=day
    )


def owners_of_team(
    snapshots: QuerySet[RetentionSnapshot], version: int, team_id: int, role: str, granularity: str, period_start: date
) -> list[str]:
    """Emails of the owners whose book counted in a team for a period: an owner row of the period
    in that role (a book on its first day) and, that day, a membership of the team."""
    from accounts.models import User

    with_book = snapshots.filter(scope_type=OWNER, role=role, granularity=granularity, period_start=period_start)
    in_team = members_on(version, period_start).filter(team_id=team_id).values("user_id")
    return list(
        User.objects.filter(id__in=in_team, email__in=with_book.values("scope_key")).values_list("email", flat=True)
    )


def team_of_owner(version: int, user_id: int, period_start: date) -> int | None:
    """The owner's team on a period's first day, in the figures' inputs (None: no team that day)."""
    return members_on(version, period_start).filter(user_id=user_id).values_list("team_id", flat=True).first()


def recompute_status() -> tuple[RecomputeStatus | None, bool]:
    """The status row (without creating it on a read) and whether a recompute is pending."""
    return RecomputeStatus.objects.filter(pk=1).first(), PendingRecompute.objects.exists()
