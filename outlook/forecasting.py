"""Gathers the forecast's inputs for one scope (company, team or owner) from the snapshots, the
frozen inputs behind them, the risk marks and the contract lines; the math is ``outlook.forecast``.

A fixed number of queries per scope and period: the snapshot row, the current marks, the account
rows of the marked customers (``metrics.recompute.accounts``, narrowed to them), their lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from metrics.queries import Scope
from metrics.recompute import accounts
from metrics.recompute.accounts import Filters, Inputs

from .forecast import AT_RISK, LIKELY, Forecast, RiskedAccount, UpcomingRenewal, forecast
from .models import RiskMark
from .renewals import current_risk, load_renewals

FORECAST_GRANULARITIES = (("quarter", "This quarter"), ("year", "This year"))


@dataclass(frozen=True)
class ScopeForecast:
    label: str
    scope: Scope
    row: object  # the period's RetentionSnapshot, measured on today
    forecast: Forecast
    names: dict  # customer id -> (name, external id)
    marks: dict  # customer id -> RiskMark


def current_row(snapshots, scope: Scope, granularity: str, as_of):
    return snapshots.filter(
        scope.snapshot_filter, granularity=granularity, period_start__lte=as_of, period_end__gte=as_of
    ).first()


def scope_forecast(
    snapshots, scope: Scope, granularity: str, label: str = "", inputs: Inputs | None = None, marks: dict | None = None
) -> ScopeForecast | None:
    """The forecast of the period of ``granularity`` holding the figures' day, or None without one."""
    inputs = inputs or Inputs.current()
    if not inputs.version:
        return None
    row = current_row(snapshots, scope, granularity, inputs.as_of)
    if row is None:
        return None
    if marks is None:
        marks = risky_marks()
    period = inputs.period(granularity, row.period_start)
    rows = []
    if marks:
        rows = accounts.account_rows(
            inputs.version, period, scope, filters=Filters(customer_ids=frozenset(marks)), limit=None
        )
    cohort = {r.customer_id: r for r in rows if r.starting_arr > 0 and not r.product}
    upcoming: dict = {}
    if cohort:
        for r in load_renewals(
            None, inputs.as_of, period.end, inputs.as_of, settings.RENEWAL_GRACE_DAYS, customer_ids=cohort
        ):
            upcoming.setdefault(r.customer_id, []).append(UpcomingRenewal(r.end_date, r.arr, r.status))
    risked = [
        RiskedAccount(
            cid, marks[cid].status, marks[cid].expected_loss, tuple(upcoming.get(cid, ())), r.starting_arr, r.ending_arr
        )
        for cid, r in cohort.items()
    ]
    result = forecast(row.starting_arr, row.contraction, row.churn, row.ending_arr, risked, inputs.as_of, period.end)
    names = {cid: (r.customer_name, r.external_id) for cid, r in cohort.items()}
    return ScopeForecast(label, scope, row, result, names, {cid: marks[cid] for cid in cohort})


def risky_marks() -> dict:
    """customer id -> current mark, for the accounts currently at risk or likely to churn."""
    return {cid: m for cid, m in current_risk(RiskMark.objects.all()).items() if m.status in (AT_RISK, LIKELY)}


def scope_forecasts(snapshots, scope: Scope) -> list[ScopeForecast]:
    inputs, marks = Inputs.current(), risky_marks()
    found = (scope_forecast(snapshots, scope, g, label, inputs, marks) for g, label in FORECAST_GRANULARITIES)
    return [f for f in found if f is not None]
