"""Cohorts (SPEC section 8): customers grouped by the month (or quarter) of their first revenue
day; for every cohort and every period k after it, the cohort's ARR on the last day of period k
over its ARR at the end of its first period (revenue retention), and the share of its customers
paying then (logo retention). The current period is measured on today.

Settled details (the SPEC is silent):
- A customer stays in the cohort of its first revenue day for good: one that leaves and comes
  back (reactivated) counts again, in revenue and logos, from the period it pays again.
- The logo denominator is every customer of the cohort, also one whose first line ended before
  its first period did (so logo retention at k = 0 can be below 100%).
- Team and owner cohorts follow the owner (per role) on the last day of the cohort's first period,
  and that owner's team that day; customers with no owner then are ``unassigned``.

Vectorized and pure (numpy over integer cents, no Django): ``arr_at_grid`` gives each customer's
ARR on each period end from its lines with one difference array and a cumulative sum;
``aggregate`` sums customers into (group, cohort, k) cells with ``np.add.at`` per k. Customers are
processed in chunks so memory stays bounded (``CHUNK`` customers x periods x 8 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

CHUNK = 20000
EPOCH = date(1970, 1, 1)
OPEN_END = 10**7  # a day number far after any period end


def day_number(day: date | None) -> int:
    return OPEN_END if day is None else (day - EPOCH).days


@dataclass(frozen=True)
class Grid:
    """The periods cohorts are measured on: their first days and the days measured (the calendar
    last day, or today for the current period)."""

    starts: np.ndarray  # int day numbers, ascending
    ends: np.ndarray

    @property
    def size(self) -> int:
        return len(self.starts)


def grid(
    granularity: str, first_day: date, as_of: date, fiscal_year_start_month: int = 1
) -> tuple[list[date], list[date], Grid]:
    """Months or (fiscal) quarters from the one holding ``first_day`` to the one holding ``as_of``."""
    from metrics.engine import add_months

    step = 1 if granularity == "month" else 3
    start = first_day.replace(day=1)
    if step == 3:
        offset = (start.month - fiscal_year_start_month) % 3
        start = add_months(start, -offset)
    starts, ends = [], []
    while start <= as_of:
        end = add_months(start, step) - timedelta(days=1)
        starts.append(start)
        ends.append(min(end, as_of))
        start = add_months(start, step)
    return (
        starts,
        ends,
        Grid(
            np.array([day_number(d) for d in starts], dtype=np.int64),
            np.array([day_number(d) for d in ends], dtype=np.int64),
        ),
    )


def arr_at_grid(
    line_customer: np.ndarray,
    line_start: np.ndarray,
    line_end: np.ndarray,
    line_arr: np.ndarray,
    n_customers: int,
    g: Grid,
) -> np.ndarray:
    """(customers, periods) int64: each customer's ARR in cents on each period's measured day.
    ``line_customer`` are indexes 0..n_customers-1; ``line_end`` OPEN_END for open lines."""
    first = np.searchsorted(g.ends, line_start, side="left")  # first measured day on or after the start
    last = np.searchsorted(g.ends, line_end, side="right") - 1  # last measured day on or before the end
    keep = last >= first
    diff = np.zeros((n_customers, g.size + 1), dtype=np.int64)
    np.add.at(diff, (line_customer[keep], first[keep]), line_arr[keep])
    np.add.at(diff, (line_customer[keep], last[keep] + 1), -line_arr[keep])
    return np.cumsum(diff[:, :-1], axis=1)


def cohort_index(
    line_customer: np.ndarray, line_start: np.ndarray, line_arr: np.ndarray, n_customers: int, g: Grid
) -> np.ndarray:
    """Each customer's cohort: the period holding its first revenue day (-1: no revenue, or before the grid)."""
    first_day = np.full(n_customers, OPEN_END, dtype=np.int64)
    paid = line_arr > 0
    np.minimum.at(first_day, line_customer[paid], line_start[paid])
    index = np.searchsorted(g.starts, first_day, side="right") - 1
    index[first_day == OPEN_END] = -1
    return index


@dataclass
class Cells:
    """Sums per (group, cohort, k): arrays shaped (groups, periods[, periods])."""

    customers: np.ndarray  # (G, M)
    base_arr: np.ndarray  # (G, M) cents, ARR at the end of the first period
    paying: np.ndarray  # (G, M, M) customers with ARR > 0 at the end of period k
    arr: np.ndarray  # (G, M, M) cents

    @classmethod
    def empty(cls, groups: int, m: int) -> Cells:
        z = np.zeros
        return cls(
            z((groups, m), np.int64), z((groups, m), np.int64), z((groups, m, m), np.int64), z((groups, m, m), np.int64)
        )


def aggregate(arr_at: np.ndarray, cohort: np.ndarray, group: np.ndarray, cells: Cells) -> None:
    """Add customers (rows of ``arr_at``, their cohort and group codes) into ``cells``."""
    m = arr_at.shape[1]
    member = cohort >= 0
    rows = np.nonzero(member)[0]
    c, gr = cohort[member], group[member]
    np.add.at(cells.customers, (gr, c), 1)
    np.add.at(cells.base_arr, (gr, c), arr_at[rows, c])
    for k in range(m):
        col = c + k
        ok = col < m
        if not ok.any():
            break
        values = arr_at[rows[ok], col[ok]]
        np.add.at(cells.arr, (gr[ok], c[ok], k), values)
        np.add.at(cells.paying, (gr[ok], c[ok], k), (values > 0).astype(np.int64))


@dataclass(frozen=True)
class CohortRow:
    """One cohort of one scope: its size and ARR at the end of its first period, and per k the
    customers paying and the ARR (cents) at the end of period k."""

    scope_type: str
    scope_key: str
    role: str
    cohort: int  # index into the grid
    customers: int
    base_arr_cents: int
    paying: list[int]
    arr_cents: list[int]


def rows_of(cells: Cells, scope_type: str, keys: list[str], role: str = "") -> list[CohortRow]:
    """Every non-empty cohort, k from 0 to the current period."""
    m = cells.customers.shape[1]
    groups, cohorts = np.nonzero(cells.customers)
    customers, base = cells.customers[groups, cohorts].tolist(), cells.base_arr[groups, cohorts].tolist()
    return [
        CohortRow(
            scope_type,
            keys[g],
            role,
            c,
            customers[i],
            base[i],
            cells.paying[g, c, : m - c].tolist(),
            cells.arr[g, c, : m - c].tolist(),
        )
        for i, (g, c) in enumerate(zip(groups.tolist(), cohorts.tolist(), strict=True))
    ]


def compute(lines, customers_of_group: dict, g: Grid, chunk: int = CHUNK) -> list[CohortRow]:
    """Cohort rows for several scopes at once.

    ``lines``: (customer_id, start day number, end day number, arr cents) arrays.
    ``customers_of_group``: {(scope_type, role): (customer ids array, group codes array, keys)}:
    for each scope, every customer's group code (an index into its keys; -1 leaves it out)."""
    line_customer_id, line_start, line_end, line_arr = lines
    ids = np.unique(line_customer_id)
    m = g.size
    cells = {scope: Cells.empty(len(keys), m) for scope, (_, _, keys) in customers_of_group.items()}
    codes = {}
    for scope, (cids, group, _) in customers_of_group.items():
        position = np.searchsorted(cids, ids)
        position = np.clip(position, 0, max(len(cids) - 1, 0))
        found = (len(cids) > 0) & (cids[position] == ids) if len(cids) else np.zeros(len(ids), bool)
        codes[scope] = np.where(found, group[position] if len(cids) else -1, -1)
    order = np.argsort(line_customer_id, kind="stable")
    line_customer_id, line_start, line_end, line_arr = (
        a[order] for a in (line_customer_id, line_start, line_end, line_arr)
    )
    for lo in range(0, len(ids), chunk):
        chunk_ids = ids[lo : lo + chunk]
        a = np.searchsorted(line_customer_id, chunk_ids[0], side="left")
        b = np.searchsorted(line_customer_id, chunk_ids[-1], side="right")
        index = np.searchsorted(chunk_ids, line_customer_id[a:b])
        arr_at = arr_at_grid(index, line_start[a:b], line_end[a:b], line_arr[a:b], len(chunk_ids), g)
        cohort = cohort_index(index, line_start[a:b], line_arr[a:b], len(chunk_ids), g)
        for scope, cell in cells.items():
            group = codes[scope][lo : lo + chunk]
            keep = group >= 0
            aggregate(arr_at[keep], cohort[keep], group[keep], cell)
    rows = []
    for (scope_type, role), cell in cells.items():
        rows += rows_of(cell, scope_type, customers_of_group[scope_type, role][2], role)
    return rows
