"""Churn reason Pareto and reason coverage (SPEC section 3).

The arithmetic is pure (``pareto``, ``pareto_from_groups``, ``coverage_of``) and works on plain
tuples; ``pareto_rows`` and ``reason_coverage`` feed it from ChurnCase with one aggregate query
(GROUP BY primary reason). Callers scope the queryset first (``Visibility.cases``) and may narrow
it with ``filter_cases``. Void cases never count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from django.db.models import Count, Q, QuerySet, Sum

from .rounding import ratio
from .vocabulary import ROLES

if TYPE_CHECKING:
    from .models import ChurnCase

NO_REASON_LABEL = "no reason recorded"
ORDER_BY_LOST_ARR = "lost_arr"
ORDER_BY_COUNT = "count"
ORDERINGS = (ORDER_BY_LOST_ARR, ORDER_BY_COUNT)


class ReasonGroup(NamedTuple):
    """The cases of one primary reason: label None means no reason recorded."""

    label: str | None
    count: int  # type: ignore[assignment]  # shadows tuple.count on purpose; mypy rejects any field named count
    lost_arr: Decimal
    code: str | None = None


@dataclass(frozen=True)
class ParetoRow:
    """One bar of the Pareto.

    ``share`` and ``cumulative_share`` are fractions (0.2500 = 25%) of the measure the rows are
    ordered by: lost ARR by default, case count when ordered by count. They are None when that
    measure totals zero (a rate with a zero base is undefined, never 0).
    """

    label: str
    code: str | None
    has_reason: bool
    count: int
    lost_arr: Decimal
    share: Decimal | None
    cumulative_share: Decimal | None


@dataclass(frozen=True)
class Coverage:
    """Reason coverage: lost ARR of cases with a primary reason / all lost ARR."""

    covered_arr: Decimal
    total_arr: Decimal
    covered_count: int
    total_count: int
    share: Decimal | None


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    return ratio(part, whole)


def _money(value: Decimal | int | float) -> Decimal:
    if isinstance(value, float):
        raise TypeError("Lost ARR must be a Decimal, not a float.")
    return Decimal(value)


def pareto(cases: Iterable[tuple[str | None, Decimal]], order_by: str = ORDER_BY_LOST_ARR) -> list[ParetoRow]:
    """Pareto rows from one ``(reason label or None, lost_arr)`` tuple per case."""
    counts: dict[str | None, int] = {}
    lost: dict[str | None, Decimal] = {}
    for label, lost_arr in cases:
        counts[label] = counts.get(label, 0) + 1
        lost[label] = lost.get(label, Decimal(0)) + _money(lost_arr)
    return pareto_from_groups((ReasonGroup(label, counts[label], lost[label]) for label in counts), order_by)


def pareto_from_groups(
    groups: Iterable[tuple[str | None, int, Decimal] | tuple[str | None, int, Decimal, str | None]],
    order_by: str = ORDER_BY_LOST_ARR,
) -> list[ParetoRow]:
    """Pareto rows from cases already grouped by reason: ``(label or None, count, lost_arr[, code])``.

    Ordered by the measure, largest first, ties by label. The ``no reason recorded`` row is
    always present, with zeros when every case has a reason.
    """
    if order_by not in ORDERINGS:
        raise ValueError(f"order_by must be one of {', '.join(ORDERINGS)}, not {order_by!r}.")
    unrecorded_count, unrecorded_lost = 0, Decimal(0)
    recorded: list[ReasonGroup] = []
    for group in groups:
        group = ReasonGroup(*group)
        if group.label is None:
            unrecorded_count += group.count
            unrecorded_lost += _money(group.lost_arr)
        else:
            recorded.append(group._replace(lost_arr=_money(group.lost_arr)))
    every = [*recorded, ReasonGroup(None, unrecorded_count, unrecorded_lost)]

    def measure(group: ReasonGroup) -> Decimal:
        return group.lost_arr if order_by == ORDER_BY_LOST_ARR else Decimal(group.count)

    def label(group: ReasonGroup) -> str:
        return NO_REASON_LABEL if group.label is None else group.label

    every.sort(key=lambda g: (-measure(g), label(g).casefold(), label(g), g.code or ""))
    total = sum((measure(g) for g in every), Decimal(0))
    rows, running = [], Decimal(0)
    for group in every:
        running += measure(group)
        rows.append(
            ParetoRow(
                label=label(group),
                code=group.code,
                has_reason=group.label is not None,
                count=group.count,
                lost_arr=group.lost_arr,
                share=_ratio(measure(group), total),
                # From the running total, not by adding rounded shares: the last row is exactly 1.
                cumulative_share=_ratio(running, total),
            )
        )
    return rows


def coverage_of(rows: Iterable[ParetoRow]) -> Coverage:
    """Reason coverage from Pareto rows (no query)."""
    covered_arr = total_arr = Decimal(0)
    covered_count = total_count = 0
    for row in rows:
        total_arr += row.lost_arr
        total_count += row.count
        if row.has_reason:
            covered_arr += row.lost_arr
            covered_count += row.count
    return Coverage(covered_arr, total_arr, covered_count, total_count, _ratio(covered_arr, total_arr))


# --- queries --------------------------------------------------------------------------------


def pareto_rows(cases_queryset: QuerySet[ChurnCase], order_by: str = ORDER_BY_LOST_ARR) -> list[ParetoRow]:
    """The Pareto of the non-void cases of an (already scoped) ChurnCase queryset: one query."""
    grouped = (
        cases_queryset.filter(void=False)
        .order_by()
        .values("primary_reason_id", "primary_reason__label", "primary_reason__code")
        .annotate(case_count=Count("pk"), lost=Sum("lost_arr"))
    )
    return pareto_from_groups(
        (
            ReasonGroup(g["primary_reason__label"], g["case_count"], g["lost"], g["primary_reason__code"])
            for g in grouped
        ),
        order_by,
    )


def reason_coverage(cases_queryset: QuerySet[ChurnCase]) -> Coverage:
    """Reason coverage of the non-void cases of an (already scoped) ChurnCase queryset."""
    return coverage_of(pareto_rows(cases_queryset))


def filter_cases(
    cases_queryset: QuerySet[ChurnCase],
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    team_id: int | None = None,
    owner_id: int | None = None,
    role: str = "",
    segment: str | None = None,
    reason_code: str | None = None,
    no_reason: bool = False,
) -> QuerySet[ChurnCase]:
    """Narrow a ChurnCase queryset like the Pareto filters do.

    Dates are on the case date, inclusive. ``role`` (``csm``, ``am`` or empty for either) says
    which owner and team columns ``team_id`` and ``owner_id`` match. ``segment`` "" is the
    customers with no segment (shown as ``unknown``). ``reason_code`` or ``no_reason`` pick the
    cases of one Pareto row.
    """
    qs = cases_queryset
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    roles = [role] if role else list(ROLES)
    if team_id is not None:
        qs = qs.filter(_any_of(roles, "team_id", team_id))
    if owner_id is not None:
        qs = qs.filter(_any_of(roles, "owner_id", owner_id))
    if segment is not None:
        qs = qs.filter(customer__segment=segment)
    if no_reason:
        qs = qs.filter(primary_reason__isnull=True)
    elif reason_code:
        qs = qs.filter(primary_reason__code=reason_code)
    return qs


def _any_of(roles: list[str], column: str, value: int) -> Q:
    condition = Q()
    for role in roles:
        condition |= Q(**{f"{role}_{column}": value})
    return condition
