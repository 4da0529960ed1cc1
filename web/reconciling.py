"""The cases beside a page's figures, each saying whether it counts in them (metrics.reconcile).

Reads the period's cases of the scope (owned on the day before each drop, as the viewer may see
them) and, from the figures' frozen inputs, the scope's cohort accounts that lost ARR or have a
listed case, and whether the other case customers were paying when the period began: a few
queries per page, whatever the number of cases (customer ids go in chunks).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from metrics import queries
from metrics.models import ChurnCase
from metrics.queries import Scope
from metrics.reconcile import CaseIn, Reconciliation, reconcile
from metrics.recompute import accounts
from metrics.vocabulary import COMPANY

CHUNK = 2000
SHOWN_CASES = 200  # team and company pages list at most this many cases (largest first)


@dataclass
class CasesBeside:
    cases: list  # ChurnCase rows, each with .verdict
    total_cases: int
    reconciliation: Reconciliation
    moved_out: list[tuple[str, Decimal, str]]  # (customer name, loss, figure)
    churn: object  # the snapshot's figures, to set the reconciled totals beside
    contraction: object

    @property
    def reconciles(self) -> bool:
        r = self.reconciliation
        return r.by_figure("churn") == self.churn and r.by_figure("contraction") == self.contraction


def _chunks(ids, size=CHUNK):
    ids = sorted(ids)
    for i in range(0, len(ids), size):
        yield frozenset(ids[i : i + size])


def cases_beside(vis, scope: Scope, pick, row, inputs, limit: int | None = None) -> CasesBeside | None:
    if pick.start is None or row is None:
        return None
    listed = list(queries.cases_in_period(vis.cases(ChurnCase.objects.all()), scope, pick.start, pick.end))
    period = inputs.period(pick.granularity, pick.start)
    visible = accounts.Visible.of(vis)
    cohort, names = {}, {}

    def take(rows):
        for r in rows:
            cohort[r.customer_id] = (r.starting_arr, r.ending_arr)
            names[r.customer_id] = r.customer_name

    # Accounts of the book that lost ARR with no case in its list (they fell after moving to another
    # book). The company's book is everyone's: each of its drops is a case in its own list, so
    # its whole-company scans are skipped (a mismatch would show as not reconciling).
    if scope.type != COMPANY:
        for figure in ("churn", "contraction"):
            take(accounts.account_rows(inputs.version, period, scope, figure=figure, visible=visible, limit=None))
    with_case = {c.customer_id for c in listed}
    for chunk in _chunks(with_case - cohort.keys()):
        take(accounts.account_rows(inputs.version, period, scope, figure="starting_arr", visible=visible,
                                   filters=accounts.Filters(customer_ids=chunk), limit=None))  # fmt: skip
    paying_before = set()
    for chunk in _chunks(with_case - cohort.keys()):
        # Only whether the customer paid on s-1 at all (any book): joined this book, or new.
        rows = accounts.account_rows(inputs.version, period, Scope.company(), figure="starting_arr",
                                     filters=accounts.Filters(customer_ids=chunk), limit=None)  # fmt: skip
        paying_before |= {r.customer_id for r in rows}
    result = reconcile((CaseIn(c.pk, c.customer_id, c.date, c.lost_arr) for c in listed), cohort, paying_before)
    for case in listed:
        case.verdict = result.verdicts[case.pk]  # type: ignore[attr-defined]  # shown beside the case
    shown = listed
    if limit is not None and len(listed) > limit:
        shown = sorted(listed, key=lambda c: (-c.lost_arr, c.date))[:limit]
        shown.sort(key=lambda c: (c.date, c.customer.name), reverse=True)
    moved = [(names.get(cid, str(cid)), loss, figure) for cid, loss, figure in result.moved_out]
    return CasesBeside(shown, len(listed), result, moved, row.churn, row.contraction)
