"""Chart data for the pages: plain dicts handed to static/js/charts.js through json_script.

Numbers are floats only here, for drawing; rates are percentages (NRR 1.0834 -> 108.34).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from closing.reported import apply_reported
from metrics import queries
from metrics.queries import FIGURES, Scope
from metrics.vocabulary import MONTH, TTM

from . import money
from .links import drill_url


@dataclass(frozen=True)
class TrendLine:
    label: str
    scope: Scope
    granularity: str  # month or ttm
    metric: str  # nrr or grr
    style: str = "solid"  # solid, thin or dashed


def percent(value: Decimal | None) -> float | None:
    return None if value is None else float(value * 100)


def trend_chart(snapshots, lines: Sequence[TrendLine]) -> dict:
    """NRR/GRR lines over months; a TTM point sits on its window's last month.

    A point whose cohort has fewer than ``LOW_CONFIDENCE_LOGOS`` customers is low confidence
    (``low`` per point): drawn hollow, and left out of the axis range (``axis``: the lowest and
    highest confident values, padded) so that a rate of two customers does not flatten the rest.
    """
    threshold = settings.LOW_CONFIDENCE_LOGOS
    series = {}
    for line in lines:  # one query per scope and granularity (a handful per page)
        wanted = (line.scope, line.granularity)
        if wanted not in series:
            rows = apply_reported(queries.snapshot_series(snapshots, *wanted))  # closed periods: as reported
            series[wanted] = {r.period_end.strftime("%Y-%m"): r for r in rows}
    labels = sorted({month for rows in series.values() for month in rows})
    datasets = []
    confident: list[float] = []  # the points that set the axis range
    for line in lines:
        rows = series[(line.scope, line.granularity)]
        data = [percent(getattr(rows[m], line.metric)) if m in rows else None for m in labels]
        logos = [rows[m].logos_start if m in rows else None for m in labels]
        low = [value is not None and n is not None and n < threshold for value, n in zip(data, logos, strict=True)]
        datasets.append(
            {"label": line.label, "data": data, "style": line.style, "metric": line.metric, "low": low, "logos": logos}
        )
        confident += [value for value, is_low in zip(data, low, strict=True) if value is not None and not is_low]
    axis = None
    if confident:
        low_end, high_end = min(confident), max(confident)
        pad = max((high_end - low_end) * 0.1, 2.0)
        axis = {"min": round(low_end - pad, 1), "max": round(high_end + pad, 1)}
    has_low = any(any(d["low"]) for d in datasets)
    closed = sorted({m for rows in series.values() for m, r in rows.items() if getattr(r, "close", None) is not None})
    return {
        "kind": "trend",
        "labels": labels,
        "datasets": datasets,
        "axis": axis,
        "lowConfidence": has_low,
        "threshold": threshold,
        "closed_months": closed,
    }


def standard_trend(snapshots, scope: Scope, prefix: str = "") -> list[TrendLine]:
    return [
        TrendLine(f"{prefix}NRR (TTM)", scope, TTM, "nrr"),
        TrendLine(f"{prefix}GRR (TTM)", scope, TTM, "grr"),
        TrendLine(f"{prefix}NRR (month)", scope, MONTH, "nrr", "thin"),
        TrendLine(f"{prefix}GRR (month)", scope, MONTH, "grr", "thin"),
    ]


BRIDGE_STEPS = (
    ("Start", "starting_arr", "total"),
    ("New", "new_arr", "up"),
    ("Reactivation", "reactivation_arr", "up"),
    ("Upsell", "upsell", "up"),
    ("Cross-sell", "cross_sell", "up"),
    ("Contraction", "contraction", "down"),
    ("Churn", "churn", "down"),
)


def bridge_chart(row, scope: Scope) -> dict:
    """The ARR bridge of one snapshot row as floating bars [low, high], a waterfall.

    New and reactivation exist for the company only; elsewhere the bridge ends on the cohort's ARR.
    """
    labels, bars, kinds, amounts, links = [], [], [], [], []
    level = Decimal(0)
    for label, name, kind in BRIDGE_STEPS:
        value = getattr(row, name)
        if value is None:
            continue
        if kind == "total":
            low, high, level = Decimal(0), value, value
        elif kind == "up":
            low, high, level = level, level + value, level + value
        else:
            low, high, level = level - value, level, level - value
        labels.append(label)
        bars.append([float(low), float(high)])
        kinds.append(kind)
        amounts.append(float(value))
        links.append(drill_url(scope, row.granularity, row.period_start, name))
    end_figure = "arr_end" if row.new_arr is not None else "ending_arr"
    end = FIGURES[end_figure].of(row)
    assert end is not None  # ARR at the end is money, never undefined
    labels.append("End")
    bars.append([0.0, float(end)])
    kinds.append("total")
    amounts.append(float(end))
    links.append(drill_url(scope, row.granularity, row.period_start, end_figure))
    return {
        "kind": "bridge",
        "labels": labels,
        "bars": bars,
        "kinds": kinds,
        "amounts": amounts,
        "links": links,
        "money": money.chart_format(),
    }
