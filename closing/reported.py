"""Reading reported figures beside the live ones: for the pages (``apply_reported``) and the
retention export (``ReportedLookup``). A few queries per call, never one per row.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.db.models import Q

from .models import PeriodClose, ReportedFigure

# The money and rate columns of a retention row, each reported beside the live one.
REPORTED_FIELDS = (
    "starting_arr",
    "expansion",
    "upsell",
    "cross_sell",
    "contraction",
    "churn",
    "ending_arr",
    "nrr",
    "grr",
    "new_arr",
    "reactivation_arr",
)
# What a reported row is compared on (a restatement is any of these moving).
COMPARED_FIELDS = (*REPORTED_FIELDS, "logos_start", "logos_churned")


def closes_by_period() -> dict[tuple[str, date], PeriodClose]:
    """The periods closed now (not reopened), by (granularity, period_start)."""
    return {
        (c.granularity, c.period_start): c
        for c in PeriodClose.objects.filter(reopened_at__isnull=True).select_related("closed_by")
    }


def close_of(granularity: str, period_start: date | None) -> PeriodClose | None:
    if period_start is None:
        return None
    return (
        PeriodClose.objects.filter(granularity=granularity, period_start=period_start, reopened_at__isnull=True)
        .select_related("closed_by")
        .first()
    )


def differs(reported, live) -> bool:
    return any(getattr(reported, f) != getattr(live, f) for f in COMPARED_FIELDS)


def _reported_rows(closes: Iterable[PeriodClose], rows) -> dict[tuple, ReportedFigure]:
    """The reported rows of these closes for the scopes of ``rows``, one query."""
    closes = list(closes)
    if not closes:
        return {}
    wanted = Q()
    scopes = {(r.scope_type, r.scope_key) for r in rows}
    for scope_type in {s for s, _ in scopes}:
        wanted |= Q(scope_type=scope_type, scope_key__in={k for s, k in scopes if s == scope_type})
    figures = ReportedFigure.objects.filter(wanted, close__in=closes)
    return {(f.close_id, f.scope_type, f.scope_key, f.role): f for f in figures}


def apply_reported(rows):
    """Show reported figures on a page: every snapshot row of a closed period gets the reported
    values in place of the live ones, and keeps the live row as ``row.live``; ``row.close`` is
    its close and ``row.restated`` says whether the live figures now differ. A scope that had no
    figures at the close keeps its live values and is marked restated. Returns the rows."""
    rows = [r for r in rows if r is not None]
    if not rows:
        return rows
    closes = closes_by_period()
    closed = [r for r in rows if (r.granularity, r.period_start) in closes]
    if not closed:
        return rows
    reported = _reported_rows({closes[(r.granularity, r.period_start)] for r in closed}, closed)
    for row in closed:
        if getattr(row, "close", None) is not None:  # already shown as reported
            continue
        close = closes[(row.granularity, row.period_start)]
        figure = reported.get((close.pk, row.scope_type, row.scope_key, row.role))
        row.live = copy.copy(row)
        row.close = close
        row.reported_missing = figure is None
        if figure is None:
            row.restated = True
            continue
        row.restated = differs(figure, row)
        for name in COMPARED_FIELDS:
            setattr(row, name, getattr(figure, name))
    return rows


class ReportedLookup:
    """The export's view of closes: ``closed`` and the reported row of a snapshot row, reading
    one period's reported rows at a time (export rows come ordered by period)."""

    def __init__(self):
        self.closes = closes_by_period()
        self._period = None
        self._rows: dict[tuple, ReportedFigure] = {}

    def close(self, snapshot) -> PeriodClose | None:
        return self.closes.get((snapshot.granularity, snapshot.period_start))

    def reported(self, snapshot) -> ReportedFigure | None:
        close = self.close(snapshot)
        if close is None:
            return None
        if self._period != close.pk:
            self._period = close.pk
            self._rows = {(f.scope_type, f.scope_key, f.role): f for f in ReportedFigure.objects.filter(close=close)}
        return self._rows.get((snapshot.scope_type, snapshot.scope_key, snapshot.role))


def _open_close():
    from django.db.models import OuterRef

    return PeriodClose.objects.filter(
        reopened_at__isnull=True, granularity=OuterRef("granularity"), period_start=OuterRef("period_start")
    )


def closed_filter(queryset, closed: bool = True):
    """Only the snapshot rows of closed periods (or, with ``closed`` false, of the others)."""
    from django.db.models import Exists

    return queryset.filter(Exists(_open_close())) if closed else queryset.exclude(Exists(_open_close()))


def restated_filter(queryset):
    """Only the snapshot rows of closed periods whose live figures differ from the reported ones
    (or that had no reported row), as one SQL condition (the API pages over it)."""
    from django.db.models import DecimalField, Exists, OuterRef, Value
    from django.db.models.functions import Coalesce

    same = ReportedFigure.objects.filter(
        close__reopened_at__isnull=True,
        granularity=OuterRef("granularity"),
        period_start=OuterRef("period_start"),
        scope_type=OuterRef("scope_type"),
        scope_key=OuterRef("scope_key"),
        role=OuterRef("role"),
    )
    unchanged = same
    for name in COMPARED_FIELDS:
        if name in ("nrr", "grr", "new_arr", "reactivation_arr"):  # nullable: null equals null
            sentinel = Value(Decimal(-1), output_field=DecimalField(max_digits=16, decimal_places=4))
            unchanged = unchanged.annotate(**{f"_{name}": Coalesce(name, sentinel)}).filter(
                **{f"_{name}": Coalesce(OuterRef(name), sentinel)}
            )
        else:
            unchanged = unchanged.filter(**{name: OuterRef(name)})
    return queryset.filter(Exists(_open_close())).exclude(Exists(unchanged))
