#!/usr/bin/env python
"""Benchmark of the CSV import (``manage.py import_data``): a first import, then a re-import.

    .venv/bin/python scripts/bench_import.py /tmp/import-bench/100000
    .venv/bin/python scripts/bench_import.py /tmp/import-bench/10000 --customers 10000

Drops and recreates a PostgreSQL database of its own (``--database``, default bench_import) and
migrates it (not timed), then runs ``manage.py import_data DIR`` twice, each in a fresh process:
into the empty database, then the same files again (idempotent: nothing changes). For each run
it prints the wall time of the whole command and that process's peak RSS (``os.wait4``).

With ``--customers N`` and no DIR yet, the synthetic data is generated first (``metrics.synthetic``,
eight years, ten teams, 250 users, seed 1). The recompute the first import queues goes to Redis
db 14 (``--redis``), where no worker listens, so it does not run during the benchmark.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--customers", type=int, help="generate synthetic data into DIR if it is missing")
    parser.add_argument("--server", default="postgres://retention:retention@127.0.0.1:5432")
    parser.add_argument("--database", default="bench_import")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--runs", type=int, default=2, help="imports of the same files (default 2)")
    args = parser.parse_args()

    if not args.directory.is_dir():
        if not args.customers:
            parser.error(f"{args.directory} is not a directory (give --customers N to generate it)")
        sys.path.insert(0, str(ROOT))
        from metrics.synthetic import generate

        print(
            "generated:",
            generate(
                str(args.directory), customers=args.customers, years=8, today=date.today(), seed=1, teams=10, users=250
            ),
        )

    url = f"{args.server}/{args.database}"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis}
    admin = [
        PYTHON,
        "-c",
        (
            "import sys, psycopg; c = psycopg.connect(sys.argv[1], autocommit=True); "
            "c.execute(f'DROP DATABASE IF EXISTS {sys.argv[2]} WITH (FORCE)'); c.execute(f'CREATE DATABASE {sys.argv[2]}')"
        ),
        f"{args.server}/postgres",
        args.database,
    ]
    subprocess.run(admin, check=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)

    sizes = {path.name: sum(1 for _ in path.open("rb")) - 1 for path in sorted(args.directory.glob("*.csv"))}
    print(f"{args.directory}: " + ", ".join(f"{name} {rows:,}" for name, rows in sizes.items()))
    for run in range(args.runs):
        label = "first import" if run == 0 else "re-import"
        started = time.perf_counter()
        child = subprocess.Popen(
            [PYTHON, "manage.py", "import_data", str(args.directory)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        print(f"{label:>12}: {seconds:6.1f} s, peak RSS {usage.ru_maxrss / 1024:6.0f} MB")
        for line in output.strip().splitlines():
            print(f"{'':>14}{line}")
        if os.waitstatus_to_exitcode(status):
            sys.exit(f"import_data failed (exit {os.waitstatus_to_exitcode(status)})")


if __name__ == "__main__":
    main()
