"""Figures and cases side by side (SPEC section 3): which case counts in the figure beside it, why
not, and how the two totals meet.

A period's churn and contraction figures count the cohort attributed to a scope on day ``s``,
point to point (``a = ARR(c, s-1)``, ``b = ARR(c, l)``); its cases are the drops on each day,
owned on ``d-1``. Pure: the caller hands in the cases listed beside the figure, the scope's
cohort accounts (``a``, ``b``) and whether each case's customer was paying on ``s-1`` at all.

For each case, in date order:

- its customer is in the scope's cohort and ends below its start (``b < a``): the customer's
  last listed case counts, for the whole point-to-point loss ``a - b`` (churn when ``b = 0``,
  else contraction); its earlier cases are ``fell twice`` (counted once, in the last);
- in the cohort but ``b >= a``: ``came back`` before the period's end (no loss point to point);
- not in the scope's cohort but paying on ``s-1``: ``joined the book`` after the period began;
- not paying on ``s-1``: a ``new customer`` of the period (new or returning), outside every cohort.

Cohort accounts with a loss and no listed case dropped after moving to another book
(``moved out``): their loss is in the figure, their case in the other book's list. So:

    counted amounts of the listed cases + moved-out losses = churn + contraction figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ZERO = Decimal("0")

COUNTS = "counts"
FELL_TWICE = "fell_twice"
CAME_BACK = "came_back"
JOINED = "joined"
NEW_CUSTOMER = "new_customer"

VERDICT_LABELS = {
    COUNTS: "counts in the figure",
    FELL_TWICE: "fell twice: counted once, in its last case",
    CAME_BACK: "came back before the period's end",
    JOINED: "joined the book after the period began",
    NEW_CUSTOMER: "new customer: not paying when the period began",
}
NOT_COUNTED = (FELL_TWICE, CAME_BACK, JOINED, NEW_CUSTOMER)


@dataclass(frozen=True)
class CaseIn:
    case_id: int
    customer_id: int
    day: date
    lost_arr: Decimal


@dataclass(frozen=True)
class Verdict:
    """How one case stands against the figure: ``counted`` is what it adds to the figure (zero
    unless it counts), ``figure`` is churn or contraction when it counts."""

    case_id: int
    verdict: str
    counted: Decimal = ZERO
    figure: str = ""
    starting_arr: Decimal | None = None
    ending_arr: Decimal | None = None

    @property
    def counts(self) -> bool:
        return self.verdict == COUNTS

    @property
    def label(self) -> str:
        return VERDICT_LABELS[self.verdict]


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    cases: int = 0
    lost_arr: Decimal = ZERO


@dataclass
class Reconciliation:
    verdicts: dict[int, Verdict]
    listed: Group
    not_counted: list[Group]
    counted: Group
    counted_amount: Decimal
    moved_out: list[tuple[int, Decimal, str]] = field(default_factory=list)  # (customer_id, loss, figure)

    @property
    def start_to_end(self) -> Decimal:
        """What the counted cases' lost ARR differs by from their point-to-point losses."""
        return self.counted_amount - self.counted.lost_arr

    @property
    def start_to_end_size(self) -> Decimal:
        return abs(self.start_to_end)

    @property
    def moved_out_amount(self) -> Decimal:
        return sum((loss for _, loss, _ in self.moved_out), ZERO)

    @property
    def figure_total(self) -> Decimal:
        """Churn plus contraction as the cases and the moved-out accounts give them."""
        return self.counted_amount + self.moved_out_amount

    def by_figure(self, name: str) -> Decimal:
        counted = sum((v.counted for v in self.verdicts.values() if v.figure == name), ZERO)
        return counted + sum((loss for _, loss, f in self.moved_out if f == name), ZERO)


def reconcile(
    cases: Iterable[CaseIn],
    cohort: Mapping[int, tuple[Decimal, Decimal]],
    paying_before: Iterable[int],
) -> Reconciliation:
    """``cohort``: customer id -> (a, b) for every customer of the scope's cohort that has a
    listed case or a loss; ``paying_before``: customers with ARR on ``s-1`` anywhere (any scope)."""
    cases = sorted(cases, key=lambda c: (c.day, c.case_id))
    paying_before = set(paying_before)
    last_case = {c.customer_id: c.case_id for c in cases}
    verdicts: dict[int, Verdict] = {}
    for case in cases:
        if case.customer_id in cohort:
            a, b = cohort[case.customer_id]
            if b >= a:
                verdicts[case.case_id] = Verdict(case.case_id, CAME_BACK, starting_arr=a, ending_arr=b)
            elif last_case[case.customer_id] != case.case_id:
                verdicts[case.case_id] = Verdict(case.case_id, FELL_TWICE, starting_arr=a, ending_arr=b)
            else:
                figure = "churn" if b == 0 else "contraction"
                verdicts[case.case_id] = Verdict(case.case_id, COUNTS, a - b, figure, a, b)
        elif case.customer_id in paying_before:
            verdicts[case.case_id] = Verdict(case.case_id, JOINED)
        else:
            verdicts[case.case_id] = Verdict(case.case_id, NEW_CUSTOMER)

    def group(key: str, label: str, chosen: list[CaseIn]) -> Group:
        return Group(key, label, len(chosen), sum((c.lost_arr for c in chosen), ZERO))

    listed = group("listed", "cases listed", cases)
    not_counted = [
        group(key, VERDICT_LABELS[key], [c for c in cases if verdicts[c.case_id].verdict == key]) for key in NOT_COUNTED
    ]
    counted_cases = [c for c in cases if verdicts[c.case_id].counts]
    counted = group(COUNTS, VERDICT_LABELS[COUNTS], counted_cases)
    counted_amount = sum((verdicts[c.case_id].counted for c in counted_cases), ZERO)
    with_case = {c.customer_id for c in cases}
    moved_out = [
        (customer_id, a - b, "churn" if b == 0 else "contraction")
        for customer_id, (a, b) in sorted(cohort.items())
        if b < a and customer_id not in with_case
    ]
    return Reconciliation(verdicts, listed, not_counted, counted, counted_amount, moved_out)
