"""What the cohort step costs, without a database: the numpy part on synthetic arrays.

    .venv/bin/python scripts/bench_cohorts.py 100000   # customers (about 3 lines each, 5 years)

Prints the seconds of outlook.cohorts.compute for the month and quarter grids over the scopes the
workers compute (company, 4 attributes, owners and teams per role) and the number of cells, then
the product scope's pass over customer-product pairs (6 products) on its own line.
"""

import os
import sys
import time
from datetime import date

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from outlook.cohort_snapshots import _product_pairs
from outlook.cohorts import OPEN_END, compute, day_number, grid

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
rng = np.random.default_rng(7)
today, first = date(2026, 11, 23), date(2021, 12, 1)
span = day_number(today) - day_number(first)
per = rng.integers(1, 6, n)
customer = np.repeat(np.arange(n, dtype=np.int64), per)
start = day_number(first) + rng.integers(0, span, len(customer))
length = rng.integers(300, 1100, len(customer))
end = np.where(rng.random(len(customer)) < 0.4, OPEN_END, start + length)
arr = rng.integers(1000, 500000, len(customer)) * 100
products = [f"p{i}" for i in rng.integers(0, 6, len(customer))]
ids = np.arange(n, dtype=np.int64)
scopes = {("company", ""): (ids, np.zeros(n, np.int64), [""])}
for name, values in (("segment", 4), ("region", 5), ("industry", 12), ("use_case", 8)):
    scopes[name, ""] = (ids, rng.integers(0, values, n), [f"{name}{i}" for i in range(values)])
owners, teams = max(1, n // 250), 12
for role in ("csm", "am"):
    scopes["owner", role] = (ids, rng.integers(0, owners, n), [f"o{i}" for i in range(owners)])
    scopes["team", role] = (ids, rng.integers(0, teams, n), [f"t{i}" for i in range(teams)])
for granularity in ("month", "quarter"):
    _, _, g = grid(granularity, first, today)
    started = time.perf_counter()
    rows = compute((customer, start, end, arr), scopes, g)
    print(
        f"{n} customers, {len(customer)} lines, {granularity}: {g.size} periods, {len(rows)} cohort rows ({sum(len(r.paying) for r in rows)} cells) in {time.perf_counter() - started:.1f} s"
    )
    started = time.perf_counter()
    pair_lines, product_scope = _product_pairs((customer, start, end, arr), products)
    rows = compute(pair_lines, product_scope, g)
    print(
        f"  product scope, {granularity}: {len(np.unique(pair_lines[0]))} customer-product pairs, {len(rows)} cohort rows in {time.perf_counter() - started:.1f} s"
    )
