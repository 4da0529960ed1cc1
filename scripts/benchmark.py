#!/usr/bin/env python
"""Benchmark: import, full recompute and change-to-snapshot latency on synthetic data.

    DATABASE_URL=postgres://retention:retention@127.0.0.1:5432/retention \\
    REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python scripts/benchmark.py --customers 10000 100000

For each customer count it generates a synthetic company (about 5 contract lines a customer over
5 years) into bench-data/N/, drops and recreates the bench database (the server and login of
DATABASE_URL, the database name of --database, never DATABASE_URL's own database), migrates,
then runs each phase in its own process, so each peak memory figure is that phase's alone:

- import: ``metrics.importer`` on the six CSV files;
- recompute: ``metrics.snapshots.recompute_all()``;
- latency: with a real ``celery -A retention_site worker`` process running against REDIS_URL,
  bump one open contract line's ARR through the ORM and time until the company snapshot of the
  current month shows it (then revert, and again); the worker's peak memory is read from /proc.

It prints figures, it is not a test. Peak memory is the process's maximum resident set size
(and, for a recompute that forks, that of the largest forked process).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
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
CELERY = str(Path(PYTHON).with_name("celery"))
QUEUE = "retention-bench"
DEFAULT_DATABASE_URL = "postgres://retention:retention@127.0.0.1:5432/retention"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--users", type=int, default=None, help="people in teams (default: 1 per 400 customers, at least 28)")
    parser.add_argument("--database", default="retention_bench", help="name of the bench database (dropped and recreated)")
    parser.add_argument("--samples", type=int, default=4, help="latency measurements (bump, revert, ...)")
    parser.add_argument("--phase", choices=["import", "recompute", "latency"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = PHASES[args.phase](args)
        print("RESULT " + json.dumps(result), flush=True)
        return

    env = bench_environment(args.database)
    results = []
    for customers in args.customers:
        results.append(run_one(customers, args, env))
    print_table(results, args)


# --- the orchestrating process ---------------------------------------------------------------


def bench_environment(database: str) -> dict[str, str]:
    base = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    if not base.scheme.startswith("postgres"):
        sys.exit("The benchmark needs PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    env = dict(os.environ)
    env.update(
        DATABASE_URL=urlunsplit(base._replace(path="/" + database)),
        REDIS_URL=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        CELERY_QUEUE=QUEUE,
        DEBUG="true",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="retention_site.settings",
    )
    env.pop("TEST_DB_NAME", None)
    return env


def recreate_database(env: dict[str, str]) -> None:
    import psycopg
    import redis

    url = urlsplit(env["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin_url = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)


def run_phase(phase: str, args, env: dict[str, str], data: Path) -> dict:
    command = [PYTHON, __file__, "--phase", phase, "--data", str(data), "--samples", str(args.samples)]
    completed = subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True)
    line = next(line for line in reversed(completed.stdout.splitlines()) if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def run_one(customers: int, args, env: dict[str, str]) -> dict:
    sys.path.insert(0, str(ROOT))
    from metrics.synthetic import generate

    data = ROOT / "bench-data" / str(customers)
    users = args.users or max(28, customers // 400)
    print(f"== {customers} customers: generating into {data.relative_to(ROOT)}", flush=True)
    started = time.perf_counter()
    counts = generate(data, customers=customers, years=args.years, today=date.today(), seed=args.seed, teams=args.teams, users=users)
    generated = time.perf_counter() - started
    print(f"   {counts['contracts.csv']} contract lines, {counts['assignments.csv']} assignments, {users} users in {generated:.1f} s", flush=True)
    print("   recreating the bench database", flush=True)
    recreate_database(env)
    result = {"customers": customers, "lines": counts["contracts.csv"], "assignments": counts["assignments.csv"], "users": users, "generate_s": generated}
    for phase in ("import", "recompute", "latency"):
        print(f"   {phase} ...", flush=True)
        figures = run_phase(phase, args, env, data)
        print("   " + ", ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
        result[phase] = figures
    return result


def print_table(results: list[dict], args) -> None:
    print()
    print(f"Synthetic data: {args.years} years, seed {args.seed}, {args.teams} teams. Peak memory = max RSS of the phase's process.")
    print()
    print("| customers | contract lines | import | import peak memory | full recompute | recompute peak memory | snapshot rows | movements | change → snapshot latency (median, min-max) | worker peak memory |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        imp, rec, lat = r["import"], r["recompute"], r["latency"]
        print(
            f"| {r['customers']:,} | {r['lines']:,} | {imp['seconds']:.1f} s | {imp['peak_mb']:.0f} MB "
            f"| {rec['seconds']:.1f} s | {memory(rec)} | {rec['snapshot_rows']:,} | {rec['movements']:,} "
            f"| {lat['median_s']:.2f} s ({lat['min_s']:.2f}-{lat['max_s']:.2f}) | {lat['worker_peak_mb']:.0f} MB |"
        )


def memory(figures: dict) -> str:
    forks = f" + {figures['fork_peak_mb']:.0f} MB a fork" if figures.get("fork_peak_mb") else ""
    return f"{figures['peak_mb']:.0f} MB{forks}"


# --- the phases, each in its own process -------------------------------------------------------


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def peak_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def phase_import(args) -> dict:
    django_setup()
    from metrics.importer import import_directory

    started = time.perf_counter()
    import_directory(args.data)
    return {"seconds": round(time.perf_counter() - started, 2), "peak_mb": round(peak_mb())}


def phase_recompute(args) -> dict:
    django_setup()
    from metrics.snapshots import recompute_all

    started = time.perf_counter()
    summary = recompute_all()
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "peak_mb": round(peak_mb()),
        # The full recompute may fork (RECOMPUTE_PROCESSES): the largest forked process's peak.
        "fork_peak_mb": round(peak_mb(resource.RUSAGE_CHILDREN)),
        "snapshot_rows": summary.rows,
        "movements": summary.movements,
    }


def phase_latency(args) -> dict:
    django_setup()
    worker = subprocess.Popen(
        [CELERY, "-A", "retention_site", "worker", "--pool", "solo", "-Q", QUEUE, "--loglevel", "WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL,  # the banner; errors go to stderr
    )  # fmt: skip
    try:
        wait_for_worker()
        samples = [measure_change_latency(index) for index in range(args.samples)]
        worker_peak = worker_peak_mb(worker.pid)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    return {
        "median_s": round(statistics.median(samples), 3),
        "min_s": round(min(samples), 3),
        "max_s": round(max(samples), 3),
        "samples_s": [round(s, 3) for s in samples],
        "worker_peak_mb": round(worker_peak),
    }


def wait_for_worker(timeout: float = 90) -> None:
    """Until the worker answers a ping and has drained what the import queued."""
    from django.core.cache import cache

    from metrics.models import PendingRecompute
    from metrics.tasks import QUEUED_KEY
    from retention_site.celery import app

    deadline = time.monotonic() + timeout
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline:
            raise SystemExit("The Celery worker did not start.")
    while PendingRecompute.objects.exists() or cache.get(QUEUED_KEY):
        if time.monotonic() > deadline:
            raise SystemExit("The worker did not drain the pending recompute.")
        time.sleep(0.2)


def measure_change_latency(index: int, timeout: float = 600) -> float:
    """Bump (even samples) or revert (odd samples) one open line's ARR; seconds until it shows."""
    from django.utils import timezone

    from metrics.models import ContractLine, RetentionSnapshot

    month_start = timezone.localdate().replace(day=1)
    # An open line of a customer in the current month's cohort: its change moves the cohort's ending ARR.
    line = ContractLine.objects.filter(end_date__isnull=True, start_date__lt=month_start).order_by("id").first()
    company = RetentionSnapshot.objects.filter(granularity="month", scope_type="company", period_start=month_start)
    before = company.values_list("ending_arr", flat=True).get()
    change = Decimal("1000.00") if index % 2 == 0 else Decimal("-1000.00")
    line.arr += change
    started = time.perf_counter()
    line.save()  # autocommit: committed (and the recompute queued after commit) when save returns
    while company.values_list("ending_arr", flat=True).get() != before + change:
        if time.perf_counter() - started > timeout:
            raise SystemExit("The snapshot never showed the change.")
        time.sleep(0.02)
    return time.perf_counter() - started


def worker_peak_mb(pid: int) -> float:
    """Peak resident memory of the worker process (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


PHASES = {"import": phase_import, "recompute": phase_recompute, "latency": phase_latency}

if __name__ == "__main__":
    main()
