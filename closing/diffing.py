"""Pure functions (no ORM): a customer's contribution to a period's figures, and what moved
between the close and now. Rows are ``metrics.recompute.accounts.AccountRow`` (or anything with
the same fields): the customer's whole row (``product`` empty) and one row per product.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from metrics.queries import FIGURES

ZERO = Decimal(0)
# The money figures a customer's row adds to, in the order the report lists them.
MONEY_FIGURES = (
    "starting_arr", "new_arr", "reactivation_arr", "expansion", "upsell", "cross_sell",
    "contraction", "churn", "ending_arr", "arr_end",
)  # fmt: skip
# Who and what the row is attributed to on the period's first day.
ATTRIBUTION = (
    ("csm_owner_id", "CSM"), ("csm_team_id", "CSM team"), ("am_owner_id", "AM"), ("am_team_id", "AM team"),
    ("segment", "Segment"), ("region", "Region"), ("industry", "Industry"), ("use_case", "Use case"),
    ("tenure_band", "Tenure band"),
)  # fmt: skip


def contribution(row) -> dict[str, Decimal | int]:
    """What one account row adds to each figure of its scopes (zero where it adds nothing)."""
    figures: dict[str, Decimal | int] = {}
    for name in MONEY_FIGURES:
        spec = FIGURES[name]
        assert spec.amount is not None  # MONEY_FIGURES are amounts
        figures[name] = spec.amount(row) if row is not None and row.movement in spec.movements else ZERO
    cohort = row is not None and row.movement in ("expansion", "contraction", "churn", "none")
    figures["logos_start"] = 1 if cohort else 0
    figures["logos_churned"] = 1 if row is not None and row.movement == "churn" else 0
    return figures


@dataclass(frozen=True)
class FigureChange:
    product: str  # empty: the customer's whole row (company and every whole-customer scope)
    figure: str
    label: str
    before: Decimal | int
    after: Decimal | int

    @property
    def difference(self):
        return self.after - self.before


@dataclass(frozen=True)
class AttributionChange:
    field: str
    label: str
    before: object
    after: object


def _by_product(rows: Iterable) -> dict[str, object]:
    return {r.product: r for r in rows}


def figure_changes(before_rows: Iterable, after_rows: Iterable) -> list[FigureChange]:
    """Each figure a customer's contribution moved, whole row first, then per product."""
    before, after = _by_product(before_rows), _by_product(after_rows)
    changes = []
    for product in sorted(before.keys() | after.keys()):
        old, new = contribution(before.get(product)), contribution(after.get(product))
        for name in (*MONEY_FIGURES, "logos_start", "logos_churned"):
            if old[name] != new[name] and not (product and name in ("new_arr", "reactivation_arr", "arr_end")):
                changes.append(FigureChange(product, name, FIGURES[name].label, old[name], new[name]))
    return changes


def attribution_changes(before_rows: Iterable, after_rows: Iterable) -> list[AttributionChange]:
    """Owners, teams and attributes of the customer's whole row that differ (a move between scopes)."""
    old, new = _by_product(before_rows).get(""), _by_product(after_rows).get("")
    if old is None or new is None:
        return []
    return [AttributionChange(f, label, getattr(old, f), getattr(new, f)) for f, label in ATTRIBUTION if getattr(old, f) != getattr(new, f)]


def changed(before_rows: Iterable, after_rows: Iterable) -> bool:
    """The customer's contribution to some figure of some scope moved."""
    before_rows, after_rows = list(before_rows), list(after_rows)
    return bool(figure_changes(before_rows, after_rows) or attribution_changes(before_rows, after_rows))


# --- which edits bear on a period ------------------------------------------------------------


def runs_on(state: dict | None, day) -> bool:
    """A dated row (start_date, end_date inclusive, empty = open) covers the day."""
    if state is None:
        return False
    return state["start_date"] <= day and (state["end_date"] is None or state["end_date"] >= day)


def line_bears_on(before: dict | None, after: dict | None, period_start, period_end) -> bool:
    """A contract line edit bears on a period unless both states start after the period's last
    day (a line before the period can still decide the first revenue day, hence the tenure)."""
    return any(state is not None and state["start_date"] <= period_end for state in (before, after))


def dated_bears_on(before: dict | None, after: dict | None, period_start) -> bool:
    """An assignment or membership edit bears on a period when either state covers its first day
    (attribution is decided on that day)."""
    return runs_on(before, period_start) or runs_on(after, period_start)
