#!/usr/bin/env python
"""Benchmark: the API's CSV export of every movement row, next to PostgreSQL's own COPY.

    DATABASE_URL=postgres://retention:retention@127.0.0.1:5432/retention_bench \\
        .venv/bin/python scripts/bench_export.py

Run it against a database already loaded and recomputed (``scripts/benchmark.py`` builds one).
It adds a throwaway admin with an API token (removed at the end), then:

1. COPY: ``psql -c "COPY (<the API's query>) TO STDOUT WITH (FORMAT csv, HEADER)"`` into /dev/null,
   timed, with psql's peak resident memory;
2. API: starts gunicorn (one sync worker, production settings) on 127.0.0.1, warms it up with one
   small request, then streams ``GET /api/v1/movements/?format=csv`` into /dev/null, timed, with
   the worker's peak resident memory (VmHWM) before and after the export.

Both read the same rows in the same order (the SQL is the API's own queryset's); the row counts
are checked to agree. It prints figures and their ratio; it is not a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_EMAIL = "bench-export@example.invalid"
READ_BLOCK = 1 << 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--path", default="/api/v1/movements/?format=csv")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to the loaded benchmark database (postgres://...).")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_site.settings")
    import django

    django.setup()
    rows = movement_row_count()
    sql = export_sql()
    print(f"movement rows: {rows:,}", flush=True)

    copy = run_copy(sql)
    print_result("PostgreSQL COPY TO STDOUT (psql)", copy)

    key, cleanup = bench_token()
    try:
        api = run_api(args.port, args.path, key)
    finally:
        cleanup()
    print_result("API CSV export (gunicorn, 1 sync worker)", api)
    print(f"  worker peak RSS before the export (warmed up): {api['rss_before_mb']:.1f} MB")

    for name, result in (("COPY", copy), ("API", api)):
        if result["lines"] - 1 != rows:
            sys.exit(f"{name} wrote {result['lines'] - 1:,} rows, the table has {rows:,}")
    ratio = {
        "time": api["seconds"] / copy["seconds"],
        "bytes": api["bytes"] / copy["bytes"],
        "peak_rss": api["peak_rss_mb"] / copy["peak_rss_mb"],
    }
    print(
        f"ratio API / COPY: time {ratio['time']:.1f}x, bytes {ratio['bytes']:.2f}x, "
        f"peak memory {ratio['peak_rss']:.1f}x (worker vs psql)"
    )
    print("RESULT " + json.dumps({"rows": rows, "copy": copy, "api": api, "ratio": ratio}))


# --- what is exported -----------------------------------------------------------------------


def movement_row_count() -> int:
    from metrics.models import AccountMovement

    return AccountMovement.objects.count()


def export_sql() -> str:
    """The SQL of the API's admin export: the same columns, joins and order as the endpoint."""
    from api.serializers import MovementRowSerializer
    from metrics.models import AccountMovement

    queryset = AccountMovement.objects.values(*MovementRowSerializer.value_names()).order_by(
        *AccountMovement._meta.ordering
    )
    sql, params = queryset.query.sql_with_params()
    assert not params, "the admin export has no parameters"
    return sql


def bench_token() -> tuple[str, callable]:
    from accounts.models import Role, User
    from api.models import ApiToken

    user, _ = User.objects.get_or_create(email=BENCH_EMAIL, defaults={"role": Role.ADMIN})
    _, key = ApiToken.issue(user, "bench_export")

    def cleanup():
        User.objects.filter(email=BENCH_EMAIL).delete()  # its tokens go with it

    return key, cleanup


# --- COPY -------------------------------------------------------------------------------------


def run_copy(sql: str) -> dict:
    command = ["psql", "-X", "-q", os.environ["DATABASE_URL"], "-c", f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)"]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    size, lines = drain(process.stdout)
    if process.wait() != 0:
        sys.exit("psql failed")
    seconds = time.perf_counter() - started
    # ru_maxrss of the largest child waited for so far: psql is the only one yet (KiB on Linux).
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "bytes": size, "lines": lines, "peak_rss_mb": peak, "first_byte_seconds": None}


def drain(stream) -> tuple[int, int]:
    size = lines = 0
    while block := stream.read(READ_BLOCK):
        size += len(block)
        lines += block.count(b"\n")
    return size, lines


# --- the API through a real server ------------------------------------------------------------


def run_api(port: int, path: str, key: str) -> dict:
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-export-only"),
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "retention_site.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "0", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        wait_for_port(port)
        headers = {"Authorization": f"Token {key}"}
        get(port, "/api/v1/reasons/?format=csv", headers)  # warm up: imports, connection, first query
        worker = worker_pid(server.pid)
        before = vm_hwm_mb(worker)
        started = time.perf_counter()
        first_byte, size, lines = get(port, path, headers)
        seconds = time.perf_counter() - started
        peak = vm_hwm_mb(worker)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "seconds": seconds,
        "bytes": size,
        "lines": lines,
        "peak_rss_mb": peak,
        "rss_before_mb": before,
        "first_byte_seconds": first_byte - started,
    }


def get(port: int, path: str, headers: dict) -> tuple[float, int, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=None)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    if response.status != 200:
        sys.exit(f"GET {path} answered {response.status}: {response.read(500)!r}")
    first_byte = time.perf_counter()
    size, lines = drain(response)
    connection.close()
    return first_byte, size, lines


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"gunicorn did not listen on port {port}")


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        sys.exit(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def vm_hwm_mb(pid: int) -> float:
    """The process's peak resident set size so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def print_result(name: str, result: dict) -> None:
    rate = (result["lines"] - 1) / result["seconds"]
    first = f", first byte after {result['first_byte_seconds']:.2f} s" if result["first_byte_seconds"] is not None else ""
    print(
        f"{name}: {result['seconds']:.2f} s, {result['bytes'] / 1e6:.1f} MB, {rate:,.0f} rows/s, "
        f"peak RSS {result['peak_rss_mb']:.1f} MB{first}",
        flush=True,
    )


if __name__ == "__main__":
    main()
