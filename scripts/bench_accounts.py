#!/usr/bin/env python
"""Benchmark: the accounts behind a figure answered on demand (metrics.recompute.accounts).

    .venv/bin/python scripts/bench_accounts.py --customers 100000

Generates a synthetic company (metrics/synthetic.py; about seven contract lines a customer over
six years) into bench-data/accounts-N/, drops and recreates the database --database (default
bench_accounts) on the server of DATABASE_URL (default the local ``retention`` role), migrates,
and fills the live customers (names, external ids) and the Snapshot* input tables of version 1
straight from the CSV files with COPY (ARR as integer cents; users and teams numbered in file
order, as ids; users.csv's team as a membership from 1900-01-01 unless team_memberships.csv has
the user's dated rows, as the importer does). With --decoy-versions K it also copies version 1
into K more versions, as a full recompute does while it builds the next set. Then VACUUM ANALYZE,
and median timings (of --repeat runs, after one warm-up) of:

- company TTM, NRR figure, latest complete window: first page (50 rows) and its totals;
- an owner (CSM with the largest book), a team (CSM team with the largest book), a product
  (Analytics), a segment (Enterprise) and a tenure band (24+): first page and totals, same window;
- the same company page for the latest complete month, and streaming every row of the company
  TTM window (the CSV export).

--reuse skips generating and loading when the database already has the data. It prints
figures; it is not a test.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://retention:retention@127.0.0.1:5432/retention"
EARLIEST = "1900-01-01"  # metrics.importing.EARLIEST: users.csv's team holds from then on
VERSION = 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument(
        "--users", type=int, default=None, help="people in teams (default: 1 per 400 customers, at least 28)"
    )
    parser.add_argument(
        "--database", default="bench_accounts", help="name of the bench database (dropped and recreated)"
    )
    parser.add_argument("--decoy-versions", type=int, default=0, help="extra copies of the inputs under other versions")
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--reuse", action="store_true", help="keep the database if it holds the data already")
    parser.add_argument("--today", type=date.fromisoformat, default=date.today())
    args = parser.parse_args()

    base = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    if not base.scheme.startswith("postgres"):
        sys.exit("The benchmark needs PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    url = urlunsplit(base._replace(path="/" + args.database))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "retention_site.settings",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("TEST_DB_NAME", None)
    env.pop("REDIS_URL", None)
    os.environ.update({k: v for k, v in env.items() if k != "REDIS_URL"})
    os.environ.pop("REDIS_URL", None)

    if not (args.reuse and loaded(url)):
        data = ROOT / "bench-data" / f"accounts-{args.customers}"
        generate(args, data)
        recreate_database(url, env)
        load(url, data, args.decoy_versions)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    run(args)


# --- data ---------------------------------------------------------------------------------------


def loaded(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url) as connection:
            return bool(
                connection.execute("SELECT EXISTS (SELECT 1 FROM metrics_snapshotline WHERE version = 1)").fetchone()[0]
            )
    except psycopg.Error:
        return False


def generate(args, data: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from metrics.synthetic import generate as synthesize

    users = args.users or max(28, args.customers // 400)
    if (data / "assignments.csv").exists():
        print(f"== reusing {data.relative_to(ROOT)}", flush=True)
        return
    print(f"== generating {args.customers} customers over {args.years} years into {data.relative_to(ROOT)}", flush=True)
    started = time.perf_counter()
    counts = synthesize(
        data,
        customers=args.customers,
        years=args.years,
        today=args.today,
        seed=args.seed,
        teams=args.teams,
        users=users,
    )
    print(
        f"   {counts['contracts.csv']:,} contract lines, {counts['assignments.csv']:,} assignments in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def recreate_database(url: str, env: dict[str, str]) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    print(f"== migrating {name}", flush=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)


def rows_of(data: Path, name: str):
    with open(data / name, newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def cents(arr: str) -> int:
    return int(Decimal(arr.replace(",", "")) * 100)


def load(url: str, data: Path, decoys: int) -> None:
    import psycopg

    started = time.perf_counter()
    teams = {row["name"]: number for number, row in enumerate(rows_of(data, "teams.csv"), start=1)}
    users, user_team = {}, {}
    for number, row in enumerate(rows_of(data, "users.csv"), start=1):
        users[row["email"]] = number
        if row.get("team"):
            user_team[number] = teams[row["team"]]
    dated = {}
    for row in rows_of(data, "team_memberships.csv"):
        dated.setdefault(users[row["email"]], []).append(
            (teams[row["team"]], row["start_date"], row["end_date"] or None)
        )
    customers = {}
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        with cursor.copy(
            "COPY metrics_customer (id, external_id, name, segment, region, industry, use_case) FROM STDIN"
        ) as copy:
            for number, row in enumerate(rows_of(data, "customers.csv"), start=1):
                customers[row["external_id"]] = number
                copy.write_row(
                    (
                        number,
                        row["external_id"],
                        row["name"],
                        row["segment"],
                        row["region"],
                        row["industry"],
                        row["use_case"],
                    )
                )
        cursor.execute("SELECT setval(pg_get_serial_sequence('metrics_customer', 'id'), %s)", [len(customers)])
        with cursor.copy(
            "COPY metrics_snapshotcustomer (version, customer_id, segment, region, industry, use_case) FROM STDIN"
        ) as copy:
            for row in rows_of(data, "customers.csv"):
                copy.write_row(
                    (
                        VERSION,
                        customers[row["external_id"]],
                        row["segment"],
                        row["region"],
                        row["industry"],
                        row["use_case"],
                    )
                )
        # Every line in the reporting currency (the column is NOT NULL since the currency work).
        currency = os.environ.get("REPORTING_CURRENCY", "USD")
        with cursor.copy(
            "COPY metrics_snapshotline (version, customer_id, product, start_date, end_date, arr_cents, currency) FROM STDIN"
        ) as copy:
            for row in rows_of(data, "contracts.csv"):
                copy.write_row(
                    (
                        VERSION,
                        customers[row["customer_external_id"]],
                        row["product"],
                        row["start_date"],
                        row["end_date"] or None,
                        cents(row["arr"]),
                        currency,
                    )
                )
        with cursor.copy(
            "COPY metrics_snapshotassignment (version, customer_id, user_id, role, start_date, end_date) FROM STDIN"
        ) as copy:
            for row in rows_of(data, "assignments.csv"):
                copy.write_row(
                    (
                        VERSION,
                        customers[row["customer_external_id"]],
                        users[row["email"]],
                        row["role"],
                        row["start_date"],
                        row["end_date"] or None,
                    )
                )
        with cursor.copy(
            "COPY metrics_snapshotmembership (version, user_id, team_id, start_date, end_date) FROM STDIN"
        ) as copy:
            for user, spans in dated.items():
                for team, start, end in spans:
                    copy.write_row((VERSION, user, team, start, end))
            for user, team in user_team.items():
                if user not in dated:
                    copy.write_row((VERSION, user, team, EARLIEST, None))
        for decoy in range(2, 2 + decoys):
            for table, columns in (
                ("metrics_snapshotcustomer", "customer_id, segment, region, industry, use_case"),
                ("metrics_snapshotline", "customer_id, product, start_date, end_date, arr_cents, currency"),
                ("metrics_snapshotassignment", "customer_id, user_id, role, start_date, end_date"),
                ("metrics_snapshotmembership", "user_id, team_id, start_date, end_date"),
            ):
                cursor.execute(
                    f"INSERT INTO {table} (version, {columns}) SELECT %s, {columns} FROM {table} WHERE version = %s",
                    [decoy, VERSION],
                )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        counts = {
            t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("metrics_snapshotline", "metrics_snapshotassignment", "metrics_snapshotmembership")
        }
    print(
        f"== loaded {len(customers):,} customers, {counts} (versions: {1 + decoys}) in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


# --- timings ------------------------------------------------------------------------------------


def timed(function, repeat: int) -> tuple[float, object]:
    result = function()  # warm-up (and the result to describe)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


def run(args) -> None:
    from django.db import connection

    from metrics.engine import add_months, month_end
    from metrics.queries import Scope
    from metrics.recompute.accounts import account_rows, account_totals, iter_account_rows, make_period

    today = args.today
    # The latest complete TTM window and month: ending with the last month that is over.
    last_month = today.replace(day=1) if today == month_end(today) else add_months(today, -1)
    ttm = make_period("ttm", add_months(last_month, -11), today)
    month = make_period("month", last_month, today)
    assert not ttm.partial and not month.partial, (ttm, month)

    with connection.cursor() as cursor:
        s = ttm.start.isoformat()
        cursor.execute(
            "SELECT user_id, count(*) FROM metrics_snapshotassignment WHERE version = %s AND role = 'csm' "
            "AND start_date <= %s AND (end_date IS NULL OR end_date >= %s) GROUP BY user_id ORDER BY 2 DESC, 1 LIMIT 1",
            [VERSION, s, s],
        )
        owner, owner_book = cursor.fetchone()
        cursor.execute(
            "SELECT m.team_id, count(*) FROM metrics_snapshotassignment a JOIN metrics_snapshotmembership m "
            "ON m.version = a.version AND m.user_id = a.user_id AND m.start_date <= %s AND (m.end_date IS NULL OR m.end_date >= %s) "
            "WHERE a.version = %s AND a.role = 'csm' AND a.start_date <= %s AND (a.end_date IS NULL OR a.end_date >= %s) "
            "GROUP BY m.team_id ORDER BY 2 DESC, 1 LIMIT 1",
            [s, s, VERSION, s, s],
        )
        team, team_book = cursor.fetchone()

    cases = [
        ("company TTM", ttm, Scope.company()),
        (f"owner (csm {owner}, {owner_book} customers on s) TTM", ttm, Scope("owner", "", "csm", owner)),
        (f"team (csm {team}, {team_book} customers on s) TTM", ttm, Scope("team", "", "csm", team)),
        ("product Analytics TTM", ttm, Scope("product", "Analytics")),
        ("segment Enterprise TTM", ttm, Scope("segment", "Enterprise")),
        ("tenure 24+ TTM", ttm, Scope("tenure", "24+")),
        ("company month", month, Scope.company()),
    ]
    print()
    print(
        f"as of {today}; TTM window {ttm.start}..{ttm.end}; month {month.start}..{month.end}; "
        f"median of {args.repeat} runs after a warm-up; figure NRR (its rows: the cohort)"
    )
    print()
    print("| accounts of | rows | first page (50) | totals | page + totals |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, period, scope in cases:
        page_ms, page = timed(lambda: account_rows(VERSION, period, scope, figure="nrr", limit=50), args.repeat)
        totals_ms, totals = timed(lambda: account_totals(VERSION, period, scope, figure="nrr"), args.repeat)
        assert len(page) == min(50, totals.accounts)
        print(
            f"| {label} | {totals.accounts:,} | {page_ms:.0f} ms | {totals_ms:.0f} ms | {page_ms + totals_ms:.0f} ms |",
            flush=True,
        )
    for sort in ("-change", "ending_arr", "csm_owner", "-am_team"):
        page_ms, _ = timed(
            lambda: account_rows(VERSION, ttm, Scope.company(), figure="nrr", sort=sort, limit=50), args.repeat
        )
        print(f"| company TTM sorted by {sort} | | {page_ms:.0f} ms | | |")
    for figure in ("arr_end", "upsell"):  # upsell: its amount needs the cross-sell pass before the limit
        page_ms, _ = timed(
            lambda: account_rows(VERSION, ttm, Scope.company(), figure=figure, sort="-amount", limit=50), args.repeat
        )
        print(f"| company TTM, {figure}, sorted by -amount | | {page_ms:.0f} ms | | |")
    page_ms, _ = timed(
        lambda: account_rows(VERSION, ttm, Scope.company(), figure="nrr", limit=50, offset=20_000), args.repeat
    )
    print(f"| company TTM, page at offset 20,000 | | {page_ms:.0f} ms | | |")
    started = time.perf_counter()
    count = sum(1 for _ in iter_account_rows(VERSION, ttm, None))
    print(
        f"\nstreaming every row of the TTM window (whole-customer and product rows): {count:,} rows in {time.perf_counter() - started:.2f} s"
    )


if __name__ == "__main__":
    main()
