"""Shared fixtures: a real Celery worker on Redis, a clean Redis database, chromium for Playwright."""

import os

import pytest

# The shared casts and their fixtures, for every test (no imports of fixtures by name).
pytest_plugins = ["tests.web_support", "tests.api_support", "tests.recompute_support", "tests.outlook_support"]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session", autouse=True)
def clean_redis():
    """Give the run an empty Redis database (REDIS_URL points tests at their own number)."""
    url = os.environ.get("REDIS_URL")
    if url:
        import redis

        redis.Redis.from_url(url).flushdb()
    return


@pytest.fixture(autouse=True)
def seeded_reason_taxonomy(request):
    """Transactional tests flush the database after each test, rows of data migrations included:
    give every such test the seeded reason taxonomy a real installation starts with."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        from metrics.models import ChurnReason
        from metrics.taxonomy import seed_reasons

        seed_reasons(ChurnReason)
    return


@pytest.fixture(scope="module")
def live_worker(django_db_setup, django_db_blocker):
    """A real Celery worker (solo pool, in a thread) consuming from Redis for one test module.

    Not longer: while it runs, every committed change in any test queues a recompute that the
    worker carries out, re-deriving (and voiding) churn cases that other tests made by hand.

    Tests that use it need ``transactional_db``: the worker has its own database connection and
    cannot see rows of an uncommitted test transaction.
    """
    import celery.contrib.testing.tasks  # noqa: F401  (registers the ping task the check needs)
    from celery.contrib.testing.worker import start_worker

    from retention_site.celery import app

    assert not app.conf.task_always_eager, "worker tests need REDIS_URL (see scripts/test.sh)"
    # Messages that earlier modules' commits queued belong to data flushed since: start clean.
    from metrics.recompute.triggers import clear_queued_mark

    app.control.purge()
    clear_queued_mark()
    with (
        django_db_blocker.unblock(),
        start_worker(app, pool="solo", concurrency=1, perform_ping_check=True, shutdown_timeout=30) as worker,
    ):
        yield worker


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def worker_idle_before_flush(request):
    """A test with the live worker ends only once the worker is idle: the database flush that
    follows would otherwise deadlock with a recompute still running (TRUNCATE against its reads)."""
    yield
    if "live_worker" not in request.fixturenames:
        return
    import time

    import redis
    from django.conf import settings

    from retention_site.celery import app

    queue = redis.Redis.from_url(settings.REDIS_URL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        inspector = app.control.inspect(timeout=1)
        busy = [
            tasks
            for reply in (inspector.active() or {}, inspector.reserved() or {}, inspector.scheduled() or {})
            for tasks in reply.values()
            if tasks
        ]
        if not busy and not queue.llen(settings.CELERY_TASK_DEFAULT_QUEUE):
            return
        time.sleep(0.2)
