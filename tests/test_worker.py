"""A real Celery worker on Redis recomputes after committed changes, coalescing triggers."""

import time
from datetime import date
from decimal import Decimal

import pytest

from metrics.models import ContractLine, Customer, PendingRecompute, RecomputeStatus, RetentionSnapshot

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


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
    assert wait_for(lambda: not PendingRecompute.objects.exists()
                    and company_month(date(2025, 2, 1)).starting_arr == Decimal("1300.00"))
    status = RecomputeStatus.get()
    assert status.computed_at is not None and not status.pending


def test_beat_schedules_a_full_recompute():
    from retention_site.celery import app

    schedule = app.conf.beat_schedule
    assert schedule["full-recompute"]["task"] == "metrics.tasks.recompute_all"
    assert "metrics.tasks.recompute_all" in app.tasks and "metrics.tasks.process_pending" in app.tasks
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
