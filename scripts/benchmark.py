#!/usr/bin/env python
"""Benchmark of the recompute and the pages on synthetic data, on PostgreSQL and Redis.

    DATABASE_URL=postgres://retention:retention@127.0.0.1:5432/retention \\
    REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python scripts/benchmark.py --customers 100000 300000

For each customer count it generates a synthetic company (about seven contract lines a customer
over six years) into bench-data/N/, drops and recreates the bench database (the server and login
of DATABASE_URL, the database name of --database, never DATABASE_URL's own database), migrates,
then runs each phase in its own process, so each peak memory figure is that phase's alone:

- import: ``metrics.importing`` on the six CSV files;
- full recompute by Celery worker processes (``celery -A retention_site worker --pool solo``,
  two of them, then one): a ``recompute_all`` task freezes the inputs and fans the shards out;
  wall time from sending the task until the new figures are in, each worker's peak memory, and
  whether both runs wrote the same snapshot rows;
- new day: the figures measured on yesterday, then ``process_pending`` on today (what a worker
  runs after midnight: the current periods only);
- latency: with one worker running, bump one open contract line's ARR through the ORM and time
  until the company snapshot of the current month shows it (then revert, and again);
- drill-down: the first page (100 accounts and the totals) of the company TTM NRR drill-down,
  through Django's test client as an executive, cold and then the median of five;
- pages (with --load): gunicorn with two workers, 20 concurrent signed-in sessions for 60 s over
  company, team and owner pages, with a worker landing contract edits meanwhile: requests/s,
  p50/p95, errors, and pages whose headline and period figures disagree (mixed recomputes).

It prints figures, it is not a test. The plain single-process reference (the per-customer
engine, ``metrics.engine``) is timed by ``scripts/bench_engine.py N --reference``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CELERY = str(Path(PYTHON).with_name("celery"))
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
QUEUE = "retention-bench"
DEFAULT_DATABASE_URL = "postgres://retention:retention@127.0.0.1:5432/retention"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
PASSWORD = "bench-password-0123"
PORT = 8123


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000])
    parser.add_argument("--years", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument(
        "--users", type=int, default=None, help="people in teams (default: 1 per 400 customers, at least 28)"
    )
    parser.add_argument(
        "--database", default="retention_bench", help="name of the bench database (dropped and recreated)"
    )
    parser.add_argument("--samples", type=int, default=6, help="latency measurements (bump, revert, ...)")
    parser.add_argument("--load", action="store_true", help="also the pages under 20 concurrent sessions")
    parser.add_argument(
        "--edit-every", type=float, default=5.0, help="seconds between contract edits during the load (0: none)"
    )
    parser.add_argument("--only", nargs="+", help="run only these phases (on the data already there)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = PHASES[args.phase](args)
        print("RESULT " + json.dumps(result), flush=True)
        return

    env = bench_environment(args.database)
    results = [run_one(customers, args, env) for customers in args.customers]
    print(json.dumps(results, indent=1))


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
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
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


def run_phase(phase: str, args, env: dict[str, str], data: Path, **extra) -> dict:
    command = [
        PYTHON,
        __file__,
        "--phase",
        phase,
        "--data",
        str(data),
        "--samples",
        str(args.samples),
        "--edit-every",
        str(args.edit_every),
    ]
    for name, value in extra.items():
        command += [f"--{name}", str(value)]
    completed = subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True)
    line = next(line for line in reversed(completed.stdout.splitlines()) if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def run_one(customers: int, args, env: dict[str, str]) -> dict:
    sys.path.insert(0, str(ROOT))
    from metrics.synthetic import generate

    data = ROOT / "bench-data" / str(customers)
    result = {"customers": customers}
    if not args.only:
        users = args.users or max(28, customers // 400)
        print(f"== {customers} customers: generating into {data.relative_to(ROOT)}", flush=True)
        started = time.perf_counter()
        counts = generate(
            data,
            customers=customers,
            years=args.years,
            today=date.today(),
            seed=args.seed,
            teams=args.teams,
            users=users,
        )
        print(
            f"   {counts['contracts.csv']} contract lines, {counts['assignments.csv']} assignments, {users} users "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        print("   recreating the bench database", flush=True)
        recreate_database(env)
        result.update(lines=counts["contracts.csv"], assignments=counts["assignments.csv"], users=users)
    phases = args.only or ["import", "recompute2", "recompute1", "newday", "latency", "drilldown"] + (
        ["pages"] if args.load else []
    )
    for phase in phases:
        print(f"   {phase} ...", flush=True)
        if phase.startswith("recompute"):
            figures = run_phase("recompute", args, env, data, workers=phase[-1])
        else:
            figures = run_phase(phase, args, env, data)
        print("   " + json.dumps(figures), flush=True)
        result[phase] = figures
    return result


# --- helpers of the phases ---------------------------------------------------------------------


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def peak_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def process_peak_mb(pid: int) -> float:
    """Peak resident memory of another process (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_workers(count: int) -> list[subprocess.Popen]:
    from retention_site.celery import app

    workers = [
        subprocess.Popen(
            [
                CELERY,
                "-A",
                "retention_site",
                "worker",
                "--pool",
                "solo",
                "-Q",
                QUEUE,
                "-n",
                f"bench{n}@%h",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,  # the banner; errors go to stderr
        )
        for n in range(count)
    ]
    deadline = time.monotonic() + 90
    while len(app.control.ping(timeout=0.5)) < count:
        if time.monotonic() > deadline:
            raise SystemExit("The Celery workers did not start.")
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=120)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"Timed out waiting for {what}.")
        time.sleep(0.05)


def snapshot_digest() -> str:
    from metrics.models import RetentionSnapshot

    fields = [f.name for f in RetentionSnapshot._meta.fields if f.name not in ("id", "computed_at")]
    digest = hashlib.sha256()
    for row in (
        RetentionSnapshot.objects.order_by(*fields[:8], "scope_key", "role")
        .values_list(*fields)
        .iterator(chunk_size=20000)
    ):
        digest.update(repr(row).encode())
    return digest.hexdigest()[:16]


# --- the phases, each in its own process -------------------------------------------------------


def phase_import(args) -> dict:
    django_setup()
    from metrics.importing import import_directory
    from metrics.models import PendingRecompute

    started = time.perf_counter()
    import_directory(args.data)
    seconds = time.perf_counter() - started
    PendingRecompute.objects.all().delete()  # the benchmark's own full recompute comes next
    return {"seconds": round(seconds, 2), "peak_mb": round(peak_mb())}


def phase_recompute(args) -> dict:
    """A full recompute as a chord of shard tasks over ``--workers`` worker processes."""
    django_setup()
    from metrics.models import RecomputeStatus, RetentionSnapshot
    from retention_site.celery import app

    with app.connection_for_write() as connection:  # a recompute the import queued would run first
        connection.default_channel.queue_purge(QUEUE)
    workers = start_workers(args.workers)
    try:
        version = RecomputeStatus.get().input_version
        started = time.perf_counter()
        app.send_task("metrics.tasks.recompute_all", queue=QUEUE)

        def done():
            status = RecomputeStatus.objects.get(pk=1)
            if status.last_error:
                raise SystemExit(f"The recompute failed: {status.last_error}")
            return status.input_version > version and status.running_version is None

        wait_until(done, 1800, "the full recompute")
        seconds = time.perf_counter() - started
        peaks = [round(process_peak_mb(w.pid)) for w in workers]
    finally:
        stop_workers(workers)
    status = RecomputeStatus.get()
    return {
        "workers": args.workers,
        "seconds": round(seconds, 2),
        "worker_peak_mb": peaks,
        "snapshot_rows": RetentionSnapshot.objects.count(),
        "digest": snapshot_digest(),
        "as_of": status.as_of.isoformat(),
    }


def phase_newday(args) -> dict:
    """Figures measured on yesterday; then what a worker runs on the new day."""
    django_setup()
    from django.utils import timezone

    from metrics.models import RecomputeStatus
    from metrics.recompute import triggers

    today = timezone.localdate()
    samples = []
    for _ in range(3):
        RecomputeStatus.objects.filter(pk=1).update(as_of=today - timedelta(days=1))
        started = time.perf_counter()
        summary = triggers.process_pending(today)
        samples.append(time.perf_counter() - started)
        assert summary.mode == "new day", summary
    return {
        "median_s": round(statistics.median(samples), 2),
        "samples_s": [round(s, 2) for s in samples],
        "peak_mb": round(peak_mb()),
    }


def phase_latency(args) -> dict:
    django_setup()
    workers = start_workers(1)
    try:
        samples = [measure_change_latency(index) for index in range(args.samples)]
        worker_peak = process_peak_mb(workers[0].pid)
    finally:
        stop_workers(workers)
    return {
        "median_s": round(statistics.median(samples), 3),
        "min_s": round(min(samples), 3),
        "max_s": round(max(samples), 3),
        "samples_s": [round(s, 3) for s in samples],
        "worker_peak_mb": round(worker_peak),
    }


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
    wait_until(
        lambda: company.values_list("ending_arr", flat=True).get() == before + change, timeout, "the change to show"
    )
    return time.perf_counter() - started


def phase_drilldown(args) -> dict:
    """The company TTM NRR drill-down's first page, as an executive sees it."""
    django_setup()
    from django.core.cache import cache
    from django.test import Client

    from accounts.models import Role, User
    from metrics.models import RetentionSnapshot

    executive = User.objects.filter(role=Role.EXECUTIVE).first() or User.objects.create_user(
        "bench-exec@example.com", PASSWORD, role=Role.EXECUTIVE
    )
    row = (
        RetentionSnapshot.objects.filter(scope_type="company", granularity="ttm", partial=False)
        .order_by("-period_start")
        .first()
    )
    client = Client()
    client.force_login(executive)
    url = f"/drilldown/?scope=company&granularity=ttm&period={row.period_start.isoformat()}&figure=nrr"

    uncached, cached = [], []
    for _ in range(6):
        cache.clear()  # the page cache would answer from the second request on
        started = time.perf_counter()
        response = client.get(url)
        uncached.append(time.perf_counter() - started)
        assert response.status_code == 200
        started = time.perf_counter()
        client.get(url)
        cached.append(time.perf_counter() - started)
    accounts = int(re.search(r"Total \((\d+) account", response.content.decode()).group(1))
    return {
        "first_ms": round(uncached[0] * 1000),
        "uncached_median_ms": round(statistics.median(uncached[1:]) * 1000),
        "cached_median_ms": round(statistics.median(cached) * 1000, 1),
        "accounts": accounts,
    }


# --- pages under load ----------------------------------------------------------------------------


def phase_pages(args) -> dict:
    """20 signed-in sessions for 60 s against gunicorn (two workers), while edits land."""
    django_setup()
    import multiprocessing

    from accounts.models import Role, Team, User

    executive, _ = User.objects.get_or_create(email="bench-exec@example.com", defaults={"role": Role.EXECUTIVE})
    leads = list(User.objects.filter(led_teams__isnull=False).distinct()[:3])
    members = list(User.objects.filter(role=Role.MEMBER, assignments__isnull=False).distinct()[:6])
    for user in [executive, *leads, *members]:
        user.set_password(PASSWORD)
        user.save()
    pages = {executive.email: ["/company/", "/company/?granularity=quarter", "/company/?granularity=ttm"]}
    for lead in leads:
        pages[lead.email] = [f"/teams/{team.pk}/" for team in Team.objects.filter(lead=lead)]
    for member in members:
        pages[member.email] = [f"/owners/{member.pk}/"]
    # 20 sessions: the executive's three, each lead's two, each member's one... then the executive again.
    plan = [executive.email] * 4 + [lead.email for lead in leads for _ in range(2)] + [m.email for m in members]
    plan = (plan + [executive.email] * 20)[:20]

    server = subprocess.Popen(
        [
            GUNICORN,
            "retention_site.wsgi",
            "-b",
            f"127.0.0.1:{PORT}",
            "-w",
            "2",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    workers = start_workers(1)
    stop = threading.Event()
    edits = threading.Thread(target=keep_editing, args=(stop, args.edit_every), daemon=True)
    try:
        wait_until(lambda: _reachable(), 60, "gunicorn")
        # Four client processes of five sessions each: one Python process would be the bottleneck.
        groups = [[(email, pages[email]) for email in plan[i::4]] for i in range(4)]
        with multiprocessing.get_context("spawn").Pool(4) as pool:
            pending = pool.map_async(run_sessions, groups)
            edits.start()
            outcomes = pending.get()
        window = max(o["last"] for o in outcomes) - min(o["first"] for o in outcomes)
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        stop_workers(workers)
    times = sorted(t for outcome in outcomes for t in outcome["times"])
    return {
        "requests": len(times),
        "per_second": round(len(times) / window, 1),
        "window_s": round(window, 1),
        "p50_ms": round(times[len(times) // 2] * 1000),
        "p95_ms": round(times[int(len(times) * 0.95)] * 1000),
        "errors": sum(o["errors"] for o in outcomes),
        "mixed_pages": sum(o["mixed"] for o in outcomes),
        "checked_pages": sum(o["checked"] for o in outcomes),
        "edits": EDITS[0],
        "edit_every_s": args.edit_every,
    }


def run_sessions(group) -> dict:
    sessions = [Session(email, paths) for email, paths in group]
    for session in sessions:
        session.sign_in()
    threads = [threading.Thread(target=session.run, args=(60.0,)) for session in sessions]
    first = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "first": first,
        "last": time.time(),
        "times": [t for s in sessions for t in s.times],
        "errors": sum(s.errors for s in sessions),
        "mixed": sum(s.mixed for s in sessions),
        "checked": sum(s.checked for s in sessions),
    }


EDITS = [0]


def keep_editing(stop: threading.Event, every: float) -> None:
    """Contract edits landing while the pages are read (each one recomputed by the worker)."""
    from metrics.models import ContractLine

    lines = list(ContractLine.objects.filter(end_date__isnull=True).order_by("id")[:50])
    sign = 1
    while every > 0 and not stop.wait(every):
        line = random.choice(lines)
        line.arr += Decimal("100.00") * sign
        sign = -sign
        line.save()
        EDITS[0] += 1


ARR_END = re.compile(r'data-figure="arr_end">([^<]+)<')


class Session:
    """One signed-in browser: GETs its pages in a loop, timing each."""

    def __init__(self, email: str, pages: list[str]):
        import http.client

        self.email, self.pages = email, pages
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        self.cookies: dict[str, str] = {}
        self.times: list[float] = []
        self.errors = self.mixed = self.checked = 0

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **(headers or {})}
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, content.decode("utf-8", "replace")

    def sign_in(self) -> None:
        from urllib.parse import urlencode

        _, page = self.request("GET", "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urlencode({"username": self.email, "password": PASSWORD, "csrfmiddlewaretoken": token})
        status, _ = self.request(
            "POST", "/accounts/login/", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 302:
            raise SystemExit(f"{self.email} could not sign in ({status}).")

    def run(self, seconds: float) -> None:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            path = random.choice(self.pages)
            started = time.perf_counter()
            try:
                status, page = self.request("GET", path)
            except Exception:
                self.errors += 1
                self.connection.close()
                continue
            self.times.append(time.perf_counter() - started)
            if status != 200:
                self.errors += 1
            elif path == "/company/":
                self.check_one_recompute(page)

    def check_one_recompute(self, page: str) -> None:
        """The headline's last complete month and the bridge below show the same snapshot row:
        their ARR at period end must agree (read in two queries, so two recomputes could differ)."""
        _headline, _, rest = page.partition('data-testid="headline"')
        card = rest.split("</article>", 1)[0]
        bridge = rest.split("ARR bridge,", 1)
        above, below = ARR_END.search(card), ARR_END.search(bridge[1]) if len(bridge) == 2 else None
        if above and below:
            self.checked += 1
            self.mixed += above.group(1) != below.group(1)


def _reachable() -> bool:
    import http.client

    try:
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
        connection.request("GET", "/accounts/login/")
        return connection.getresponse().status == 200
    except OSError:
        return False


def phase_close(args) -> dict:
    """Close every complete month, quarter and year of the last two years (SPEC section 9), as an
    admin would: the seconds per close, and the frozen-input rows the closes keep. Then run
    ``--only recompute1`` again to see whether closed periods cost the recompute anything."""
    django_setup()
    from accounts.models import User
    from closing.models import CLOSED_VERSION_BASE
    from closing.service import close_period
    from metrics.models import RecomputeStatus, RetentionSnapshot, SnapshotLine

    admin = User.objects.filter(role="admin").first() or User.objects.create_user(
        "bench-admin@example.com", role="admin"
    )
    as_of = RecomputeStatus.get().as_of
    periods = RetentionSnapshot.objects.filter(
        scope_type="company",
        partial=False,
        granularity__in=["month", "quarter", "year"],
        period_start__gte=as_of - timedelta(days=730),
    ).values_list("granularity", "period_start")
    samples = []
    for granularity, start in periods:
        started = time.perf_counter()
        close_period(granularity, start, admin)
        samples.append(time.perf_counter() - started)
    kept = SnapshotLine.objects.filter(version__gte=CLOSED_VERSION_BASE).count()
    live = SnapshotLine.objects.filter(version=RecomputeStatus.get().input_version).count()
    return {
        "closes": len(samples),
        "median_s": round(statistics.median(samples), 2) if samples else None,
        "max_s": round(max(samples), 2) if samples else None,
        "kept_line_rows": kept,
        "live_line_rows": live,
    }


PHASES = {
    "close": phase_close,
    "import": phase_import,
    "recompute": phase_recompute,
    "newday": phase_newday,
    "latency": phase_latency,
    "drilldown": phase_drilldown,
    "pages": phase_pages,
}

if __name__ == "__main__":
    main()
