"""A recompute whose process is killed (SIGKILL) midway leaves the last good snapshots and its
trigger, so the next run (the task's redelivery, or beat's pending sweep) does the work."""

import os
import signal
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from metrics import recompute
from metrics.models import ContractLine, Customer, PendingRecompute, RetentionSnapshot
from tests.recompute_support import TODAY, frozen_table, snapshot_table

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
SLOW_RUN = """
import sys, time, django
django.setup()
from datetime import date
from metrics import recompute
from metrics.recompute import writing
def stuck(*args, **kwargs):
    open(sys.argv[1], "w").close()  # inside the run's transaction, snapshots rewritten
    time.sleep(120)
writing.merge_cases = stuck
recompute.process_pending(date.fromisoformat(sys.argv[2]))
"""


def test_a_killed_run_leaves_the_last_good_snapshots_and_its_trigger(tmp_path):
    customer = Customer.objects.create(external_id="K1", name="Killed Co")
    line = ContractLine.objects.create(
        external_id="KL1", customer=customer, product="Core", start_date=date(2025, 1, 1), arr=Decimal("1000.00")
    )
    recompute.recompute_all(TODAY)
    before = (snapshot_table(), frozen_table())
    line.arr = Decimal("2000.00")
    line.save()
    assert PendingRecompute.objects.exists()

    db = settings.DATABASES["default"]
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{connection.settings_dict['NAME']}"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TEST_DB_NAME")}
    env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="retention_site.settings")
    flag = tmp_path / "inside-the-run"
    run = subprocess.Popen([sys.executable, "-c", SLOW_RUN, str(flag), TODAY.isoformat()], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert flag.exists(), "the run never got going"
        # Midway the run has rewritten snapshots in its transaction; others still see the old ones.
        assert (snapshot_table(), frozen_table()) == before
        run.send_signal(signal.SIGKILL)
        run.wait(10)
    finally:
        if run.poll() is None:
            run.kill()

    assert (snapshot_table(), frozen_table()) == before  # the killed run changed nothing
    assert PendingRecompute.objects.exists()  # and its trigger is still there
    summary = recompute.process_pending(TODAY)  # what the redelivered task runs (it waits on the lock)
    assert summary.mode == "incremental"
    month = RetentionSnapshot.objects.get(granularity="month", period_start=date(2025, 2, 1), scope_type="company")
    assert month.starting_arr == Decimal("2000.00")
    assert not PendingRecompute.objects.exists()
