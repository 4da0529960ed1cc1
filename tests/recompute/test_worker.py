"""A real Celery worker on Redis recomputes after committed changes, coalescing triggers."""

from datetime import date
from decimal import Decimal

import pytest

from metrics.models import ContractLine, Customer, PendingRecompute, RecomputeStatus, RetentionSnapshot
from tests.recompute_support import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def company_month(start):
    return RetentionSnapshot.objects.filter(granularity="month", period_start=start, scope_type="company").first()


def test_committed_changes_reach_the_snapshots_through_the_worker(live_worker):
    customer = Customer.objects.create(external_id="W1", name="Worker Co")
    line = ContractLine.objects.create(
        external_id="WL1", customer=customer, product="Core", start_date=date(2025, 1, 1), arr=Decimal("1000.00")
    )
    assert wait_for(lambda: not PendingRecompute.objects.exists() and company_month(date(2025, 2, 1)) is not None)
    assert company_month(date(2025, 2, 1)).starting_arr == Decimal("1000.00")

    # Several quick changes: each is committed, the worker folds them into few runs.
    for arr in ("1100.00", "1200.00", "1300.00"):
        line.arr = Decimal(arr)
        line.save()
    assert wait_for(
        lambda: (
            not PendingRecompute.objects.exists() and company_month(date(2025, 2, 1)).starting_arr == Decimal("1300.00")
        )
    )
    status = RecomputeStatus.get()
    assert status.computed_at is not None and not status.pending


def test_beat_schedules_a_full_recompute():
    from retention_site.celery import app

    schedule = app.conf.beat_schedule
    assert schedule["full-recompute"]["task"] == "metrics.tasks.recompute_all"
    assert "metrics.tasks.recompute_all" in app.tasks and "metrics.tasks.process_pending" in app.tasks
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    # A copy nobody took in time is dropped, not run late after the next one.
    assert all(entry["options"]["expires"] > 0 for entry in schedule.values())
    assert schedule["pending-recompute"]["options"]["expires"] < schedule["pending-recompute"]["schedule"]


@pytest.mark.django_db
def test_a_shard_retries_a_transient_database_error_and_fails_at_once_on_a_bug(monkeypatch, request):
    from django.db import OperationalError

    from metrics import tasks
    from metrics.recompute import shards

    calls = []

    def flaky(*args):
        calls.append(args)
        if len(calls) < 3:
            raise OperationalError("server closed the connection unexpectedly")
        return {"version": 1, "first_customer_id": 1}

    conf = tasks.compute_shard.app.conf
    propagates = conf.task_eager_propagates
    conf.task_eager_propagates = False  # results, not raises
    request.addfinalizer(lambda: setattr(conf, "task_eager_propagates", propagates))
    monkeypatch.setattr(shards, "compute_shard", flaky)
    result = tasks.compute_shard.apply(args=(1, "2026-01-01", None, 1, 9))
    assert result.successful() and len(calls) == 3  # retried past the dropped connection

    calls.clear()

    def buggy(*args):
        calls.append(args)
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(shards, "compute_shard", buggy)
    result = tasks.compute_shard.apply(args=(1, "2026-01-01", None, 1, 9))
    assert result.failed() and len(calls) == 1  # not retried: it would fail the same way
    assert "ZeroDivisionError" in RecomputeStatus.get().last_error  # the admins' notice says why


def test_two_worker_processes_share_the_shards_and_agree_with_one_process(tmp_path):
    """A full recompute as a chord of shard tasks, run by two separate worker processes on the
    same PostgreSQL and Redis, gives the very rows that one process computes alone."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings
    from django.db import connection

    from metrics import recompute
    from metrics.models import Assignment, RecomputeStatus
    from retention_site.celery import app
    from tests.recompute_support import case_table, snapshot_table
    from tests.web_support import build_company

    build_company(compute=False)
    for n in range(12):  # more customers, so that shards of three make five of them
        customer = Customer.objects.create(
            external_id=f"S{n}", name=f"Shard Co {n}", segment=("SMB", "Enterprise")[n % 2]
        )
        ContractLine.objects.create(
            external_id=f"SL{n}",
            customer=customer,
            product="Core",
            start_date=date(2025, n % 12 + 1, 1),
            end_date=date(2026, 6, 30) if n % 3 == 0 else None,
            arr=Decimal(1000 + 10 * n),
        )
    Assignment.objects.create(
        customer=Customer.objects.get(external_id="S1"),
        user_id=Assignment.objects.first().user_id,
        role="csm",
        start_date=date(2025, 1, 1),
    )
    recompute.recompute_all()
    alone = (snapshot_table(), case_table())
    version = RecomputeStatus.get().input_version

    db = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if k != "TEST_DB_NAME"}
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-shards"
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{connection.settings_dict['NAME']}",
        CELERY_QUEUE=queue,
        RECOMPUTE_SHARD_CUSTOMERS="3",
    )
    root = Path(__file__).resolve().parents[2]
    workers, logs = [], []
    for name in ("one", "two"):
        log = open(tmp_path / f"{name}.log", "w")
        logs.append(tmp_path / f"{name}.log")
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "retention_site",
                    "worker",
                    "--pool",
                    "solo",
                    "-Q",
                    queue,
                    "-n",
                    f"{name}@%h",
                    "--loglevel",
                    "INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        app.send_task("metrics.tasks.recompute_all", queue=queue)
        assert wait_for(
            lambda: RecomputeStatus.get().input_version > version and RecomputeStatus.get().running_version is None, 90
        )
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
    assert (snapshot_table(), case_table()) == alone
    for path in logs:  # both processes computed shards
        assert "metrics.tasks.compute_shard" in path.read_text() and "succeeded" in path.read_text(), path.read_text()[
            -3000:
        ]
