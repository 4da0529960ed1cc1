#!/usr/bin/env python
"""Benchmark of the vectorized metric engine (metrics.recompute.engine) on synthetic data.

    .venv/bin/python scripts/bench_engine.py 100000
    .venv/bin/python scripts/bench_engine.py 10000 --reference

Generates a synthetic company with ``metrics.synthetic`` (about seven contract lines a customer
over six years) into bench-data/engine/N/ (reused if already there for the same arguments),
reads the CSV files straight into the tuples Django's ``values_list`` would give (no database),
and times, in one process: parsing, encoding (``Inputs.from_rows``), ``partial_totals`` over every
period since the first revenue month, ``retention_rows`` and ``cases``; then prints the peak RSS.

With ``--reference`` it then runs the per-customer reference (``metrics.engine.compute``) on the
same data, times it, and checks that rows and cases are identical. The peak RSS printed for the
vectorized engine is read before the reference runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metrics import engine as reference  # noqa: E402
from metrics.recompute import engine as vectorized  # noqa: E402
from metrics.synthetic import generate  # noqa: E402
from metrics.vocabulary import ROLES  # noqa: E402

EARLIEST = date(1900, 1, 1)  # the importer's start of the membership users.csv's `team` gives


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("customers", type=int)
    parser.add_argument("--years", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--users", type=int, default=None, help="default: 1 per 400 customers, at least 28")
    parser.add_argument("--today", type=date.fromisoformat, default=date.today())
    parser.add_argument("--reference", action="store_true", help="also time the reference engine and compare")
    parser.add_argument(
        "--foreign",
        type=float,
        default=0.0,
        help="share of customers (0-1) whose lines are in EUR or GBP, with monthly rates (SPEC section 7)",
    )
    args = parser.parse_args()

    data = ensure_data(args)
    timings: dict[str, float] = {}
    with timer(timings, "parse CSV"):
        customers, lines, assignments, memberships = read_rows(data)
    rates = reference.Rates()
    if args.foreign:
        lines, rates = in_other_currencies(lines, args.foreign, args.today)
    print(
        f"{len(customers):,} customers, {len(lines):,} contract lines, {len(assignments):,} assignments, "
        f"{len(memberships):,} memberships; today {args.today}"
    )
    with timer(timings, "encode (Inputs.from_rows)"):
        inputs = vectorized.Inputs.from_rows(customers, lines, assignments, memberships, rates=rates)
    first = min((row[2] for row in lines if row[4] > 0), default=None)
    periods = reference.periods_between(first, args.today) if first and first <= args.today else []
    with timer(timings, "partial_totals"):
        partial = vectorized.partial_totals(inputs, periods)
    with timer(timings, "retention_rows"):
        rows = vectorized.retention_rows(partial, periods)
    with timer(timings, "cases"):
        cases = vectorized.cases(inputs, args.today)
    with timer(timings, "Partial payload round trip (JSON)"):
        payload = json.dumps(partial.to_payload())
        assert vectorized.Partial.from_payload(json.loads(payload)) == partial
    peak = peak_mb()
    print(
        f"{len(periods)} periods, {len(partial.totals):,} scope totals, {len(rows):,} rows, {len(cases):,} cases, "
        f"payload {len(payload) / 1e6:.1f} MB"
    )
    for name, seconds in timings.items():
        print(f"  {name:<36} {seconds:7.2f} s")
    print(f"  {'partial_totals + cases':<36} {timings['partial_totals'] + timings['cases']:7.2f} s")
    print(f"  {'peak RSS':<36} {peak:7.0f} MB")

    if args.reference:
        run_reference(args, customers, lines, assignments, memberships, rows, cases, timings)


def in_other_currencies(lines, share: float, today: date):
    """Every line of a ``share`` of the customers in EUR (odd ids) or GBP, and a rate of each for
    every month since 2015 that drifts by a few tenths of a cent."""
    step = max(1, round(1 / share))
    moved = [(c, p, s, e, a, ("EUR" if c % 2 else "GBP") if c % step == 0 else "") for c, p, s, e, a in lines]
    rows, month = [], date(2015, 1, 1)
    while month <= today:
        index = (month.year - 2015) * 12 + month.month
        rows += [
            ("EUR", month, Decimal("1.08") + Decimal(index % 7) / 1000),
            ("GBP", month, Decimal("1.25") + Decimal(index % 5) / 1000),
        ]
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    print(f"{sum(1 for line in moved if line[5]):,} lines in EUR or GBP, {len(rows)} rates")
    return moved, reference.Rates.from_rows(rows)


def run_reference(args, customers, lines, assignments, memberships, rows, cases, timings) -> None:
    dataset = as_dataset(customers, lines, assignments, memberships)
    started = time.perf_counter()
    expected = reference.compute(dataset, args.today)
    seconds = time.perf_counter() - started
    vectorized_seconds = timings["partial_totals"] + timings["retention_rows"] + timings["cases"]
    print(
        f"reference engine (metrics.engine.compute: movements, aggregate, rows, cases): {seconds:.2f} s, "
        f"{seconds / vectorized_seconds:.0f}x the vectorized partial_totals + retention_rows + cases; "
        f"peak RSS now {peak_mb():.0f} MB"
    )
    same_rows = sorted(expected.rows, key=repr) == sorted(rows, key=repr)
    print(
        f"identical rows: {same_rows} ({len(expected.rows):,}); identical cases: {expected.cases == cases} "
        f"({len(expected.cases):,})"
    )
    if not (same_rows and expected.cases == cases):
        sys.exit(1)


# --- data -------------------------------------------------------------------------------------


def ensure_data(args) -> Path:
    users = args.users or max(28, args.customers // 400)
    settings = {
        "customers": args.customers,
        "years": args.years,
        "today": args.today.isoformat(),
        "seed": args.seed,
        "teams": args.teams,
        "users": users,
    }
    directory = ROOT / "bench-data" / "engine" / str(args.customers)
    stamp = directory / "settings.json"
    if stamp.exists() and json.loads(stamp.read_text()) == settings:
        print(f"reusing {directory.relative_to(ROOT)}")
        return directory
    print(f"generating into {directory.relative_to(ROOT)} ...", flush=True)
    started = time.perf_counter()
    generate(
        directory,
        customers=args.customers,
        years=args.years,
        today=args.today,
        seed=args.seed,
        teams=args.teams,
        users=users,
    )
    stamp.write_text(json.dumps(settings))
    print(f"  generated in {time.perf_counter() - started:.1f} s")
    return directory


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def day_or_none(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def cents(text: str) -> int:
    """ "1234.5" or "1234.50" -> 123450, exactly."""
    whole, _, fraction = text.partition(".")
    if len(fraction) > 2:
        raise ValueError(f"{text} is not a whole number of cents")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int(fraction.ljust(2, "0")))


def read_rows(directory: Path):
    """The six CSV files as the tuples the engine takes; ids are numbered as an import would."""
    team_id = {row["name"]: n for n, row in enumerate(read_csv(directory / "teams.csv"), start=1)}
    users = read_csv(directory / "users.csv")
    user_id = {row["email"]: n for n, row in enumerate(users, start=1)}
    dated = read_csv(directory / "team_memberships.csv")
    memberships = [
        (user_id[r["email"]], team_id[r["team"]], date.fromisoformat(r["start_date"]), day_or_none(r["end_date"]))
        for r in dated
    ]
    # users.csv `team` is a membership from the earliest date, unless team_memberships.csv has the user.
    with_dated = {r["email"] for r in dated}
    memberships += [
        (user_id[r["email"]], team_id[r["team"]], EARLIEST, None)
        for r in users
        if r["team"] and r["email"] not in with_dated
    ]
    customer_id = {}
    customers = []
    with open(directory / "customers.csv", newline="", encoding="utf-8") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=1):
            customer_id[row["external_id"]] = n
            customers.append((n, row["segment"], row["region"], row["industry"], row["use_case"]))
    lines = []
    with open(directory / "contracts.csv", newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for _, customer, product, start, end, arr, _currency in reader:
            lines.append((customer_id[customer], product, date.fromisoformat(start), day_or_none(end), cents(arr)))
    assignments = []
    with open(directory / "assignments.csv", newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for customer, email, role, start, end in reader:
            start, end = date.fromisoformat(start), day_or_none(end)
            assignments.append((customer_id[customer], user_id[email], role, start, end))
    return customers, lines, assignments, memberships


def as_dataset(customers, lines, assignments, memberships) -> reference.Dataset:
    """The same rows as the reference engine's plain data (Decimal ARR)."""
    by_role: dict[str, dict[int, list[reference.Span]]] = {role: {} for role in ROLES}
    for customer, user, role, start, end in assignments:
        by_role[role].setdefault(customer, []).append(reference.Span(customer, user, start, end))
    by_user: dict[int, list[reference.Span]] = {}
    for user, team, start, end in memberships:
        by_user.setdefault(user, []).append(reference.Span(user, team, start, end))
    return reference.Dataset(
        [reference.CustomerInfo(*row) for row in customers],
        [reference.Line(c, p, s, e, Decimal(arr).scaleb(-2)) for c, p, s, e, arr in lines],
        reference.Ownership(assignments=by_role, memberships=by_user),
    )


# --- measuring --------------------------------------------------------------------------------


class timer:
    def __init__(self, into: dict[str, float], name: str):
        self.into, self.name = into, name

    def __enter__(self):
        self.started = time.perf_counter()

    def __exit__(self, *exc):
        self.into[self.name] = time.perf_counter() - self.started


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


if __name__ == "__main__":
    main()
