"""Database faults against a PostgreSQL cluster of the test's own (never the shared one): a server
restart in the middle of a full recompute ends in a retry, the run completes and the worker
serves on; the first web requests after a restart answer 200 on every gunicorn worker.

Everything runs as it does in production, in subprocesses: ``migrate`` and ``seed_demo`` (800
customers), a Celery worker (solo pool) on a Redis server of its own, gunicorn with gthread
workers. See ``tests/own_stack.py``.
"""

import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from tests.own_stack import Cluster, RedisServer, Site, free_port, get, signed_in, stop, wait_until

pytestmark = pytest.mark.worker

DEMO_PASSWORD = "retention-demo"  # metrics.demo.PASSWORD


@pytest.fixture(scope="module")
def stack():
    cluster = redis = site = None
    workdir = Path(tempfile.mkdtemp(prefix="own-site-"))
    try:
        cluster = Cluster().init()
        redis = RedisServer()
        # Shards of 50 customers: the demo's 800 make 16 shard tasks, a run of a few seconds.
        site = Site(
            cluster,
            redis.url,
            workdir,
            RECOMPUTE_SHARD_CUSTOMERS="50",
            DEBUG="false",
            SECRET_KEY="own-postgres-test-" + "x" * 40,
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="false",
        )
        site.manage("migrate", "--noinput")
        site.manage("seed_demo")
        site.manage("collectstatic", "--noinput")  # DEBUG off: the manifest the pages' static links need
        yield site
    finally:
        if site:
            site.destroy()
        if redis:
            redis.destroy()
        if cluster:
            cluster.destroy()
        shutil.rmtree(workdir, ignore_errors=True)


def started(worker, seconds=30):
    return (
        wait_until(lambda: "ready." in worker.log_path.read_text() or worker.poll() is not None, seconds)
        and worker.poll() is None
    )


def test_a_restart_in_the_middle_of_a_full_recompute_ends_in_a_retry_and_the_worker_serves_on(stack):
    site, cluster = stack, stack.cluster
    worker = site.worker("w1")
    assert started(worker), worker.log_path.read_text()[-3000:]
    version = site.status()[0]

    # A shard task waits on a lock in the middle of its SQL when the server goes: the restart
    # surely hits a task in flight (without the lock, it might fall between two tasks).
    locker = psycopg.connect(
        host="127.0.0.1", port=cluster.port, user="postgres", dbname=cluster.database, autocommit=True
    )
    locker.execute("BEGIN")
    locker.execute("LOCK TABLE metrics_churncase IN ACCESS EXCLUSIVE MODE")
    site.send_task("metrics.tasks.recompute_all")
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    assert wait_until(lambda: cluster.query(waiting)[0][0] > 0, 30), worker.log_path.read_text()[-3000:]
    assert site.status()[1] is not None  # the run is in flight

    restarted = time.monotonic()
    cluster.restart("fast")
    locker.close()
    done = wait_until(lambda: (s := site.status()) is not None and s[0] > version and s[1] is None, 90, 0.1)
    recovery = time.monotonic() - restarted
    log = worker.log_path.read_text()
    assert done, log[-5000:]
    assert worker.poll() is None, "the worker died"
    assert "compute_shard" in log and "retry: Retry in" in log, log[-5000:]  # the fault hit a task, which was retried
    print(f"\nfull recompute completed {recovery:.1f} s after a restart in its middle")

    # The worker still serves: a contract line edit reaches the figures.
    computed_at = cluster.query("SELECT computed_at FROM metrics_recomputestatus WHERE id = 1")[0][0]
    site.shell(
        "from metrics.models import ContractLine\n"
        "line = ContractLine.objects.order_by('id').first()\n"
        "line.arr += 100\n"
        "line.save()"
    )
    assert wait_until(
        lambda: (
            site.pending() == 0
            and cluster.query("SELECT computed_at FROM metrics_recomputestatus WHERE id = 1")[0][0] > computed_at
        ),
        60,
    ), worker.log_path.read_text()[-3000:]
    assert worker.poll() is None
    assert "Traceback" not in worker.log_path.read_text().split("retry: Retry in")[-1]  # nothing broke after the retry


def test_the_first_requests_after_a_restart_answer_200_on_every_gunicorn_worker(stack):
    site, cluster = stack, stack.cluster
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    site.gunicorn(port, "--workers", "2", "--threads", "4", "--timeout", "30")
    browser = signed_in(base, "exec@example.com", DEMO_PASSWORD)
    with ThreadPoolExecutor(8) as pool:  # most threads of both workers hold a connection from before the restart
        for _ in range(3):
            assert set(pool.map(lambda _: get(f"{base}/company/", browser)[0], range(8))) == {200}

    cluster.restart("fast")
    restarted = time.monotonic()
    # Pages first: /healthz would replace the connection of the thread it lands on.
    pages = [get(f"{base}/company/", browser) for _ in range(6)]
    with ThreadPoolExecutor(8) as pool:
        pages += list(pool.map(lambda _: get(f"{base}/company/", browser), range(8)))
    api = [get(f"{base}/api/v1/retention/", browser) for _ in range(4)]
    health = [get(f"{base}/healthz") for _ in range(4)]
    elapsed = time.monotonic() - restarted
    assert [p[0] for p in pages] == [200] * 14, [p[1][:300] for p in pages if p[0] != 200]
    assert [a[0] for a in api] == [200] * 4, [a[1][:300] for a in api if a[0] != 200]
    assert [h[0] for h in health] == [200] * 4, health[0][1][:500]
    print(f"\n22 requests after a restart, all 200, in {elapsed:.1f} s")
    log = (site.workdir / "gunicorn.log").read_text()
    assert "Traceback" not in log and "Internal Server Error" not in log, log[-5000:]
    stop(site.processes.pop())
