"""The recompute against real PostgreSQL: full, sharded, incremental and new-day runs agree, cases
keep their reasons, a failed run leaves the last good snapshots, and the lock serialises runs."""

import threading
from datetime import date
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction

from accounts.models import Team, TeamMembership
from metrics import recompute
from metrics.models import (
    Assignment,
    ChurnCase,
    ChurnReason,
    ContractLine,
    Customer,
    PendingRecompute,
    RecomputeStatus,
    RetentionSnapshot,
    SnapshotLine,
)
from metrics.recompute import engine, writing
from tests.recompute_support import TODAY, case_table, frozen_table, snapshot_table


def test_full_run_writes_the_spec_figures(company):
    year = RetentionSnapshot.objects.get(granularity="year", period_start=date(2026, 1, 1), scope_type="company")
    # Cohort on 2025-12-31: Acme 1000, Beta 4000, Gamma 300. On today: Acme 1500, Beta 0, Gamma 300.
    assert (year.starting_arr, year.expansion, year.churn, year.ending_arr) == (
        Decimal("5300.00"),
        Decimal("500.00"),
        Decimal("4000.00"),
        Decimal("1800.00"),
    )
    assert year.partial and year.period_end == date(2026, 12, 31)
    assert year.nrr == Decimal("0.3396") and year.grr == Decimal("0.2453")
    bob_year = RetentionSnapshot.objects.get(
        granularity="year", period_start=date(2026, 1, 1), scope_type="owner", scope_key="bob@example.com", role="csm"
    )
    assert bob_year.starting_arr == Decimal("4000.00")  # Acme moved to Bob only in March
    unassigned = RetentionSnapshot.objects.get(
        granularity="year", period_start=date(2026, 1, 1), scope_type="owner", scope_key="unassigned", role="csm"
    )
    assert unassigned.starting_arr == Decimal("300.00")
    case = ChurnCase.objects.get(customer=company["beta"])
    assert (case.kind, case.date, case.lost_arr, case.csm_owner) == (
        "churn",
        date(2026, 5, 1),
        Decimal("4000.00"),
        company["bob"],
    )
    # The figures' inputs are frozen beside them, money in cents.
    assert SnapshotLine.objects.filter(version=RecomputeStatus.get().input_version).count() == 4
    assert SnapshotLine.objects.get(customer_id=company["acme"].pk, start_date=date(2026, 1, 1)).arr_cents == 150000


def test_incremental_runs_match_a_full_recompute(company):
    _acme, beta, gamma, ann, _bob = (company[k] for k in ("acme", "beta", "gamma", "ann", "bob"))
    with transaction.atomic():
        line = ContractLine.objects.get(external_id="L2")
        line.arr = Decimal("1750.50")
        line.save()
        ContractLine.objects.create(
            external_id="L5", customer=gamma, product="Core", start_date=date(2026, 2, 1), arr=Decimal("99.99")
        )
        Assignment.objects.create(customer=gamma, user=ann, role="csm", start_date=date(2025, 6, 1))
        beta.segment = "SMB"
        beta.save()
    with transaction.atomic():
        # Ann moves team in the middle of history: every period from then on changes team.
        membership = TeamMembership.objects.get(user=ann)
        membership.end_date = date(2025, 9, 30)
        membership.save()
        TeamMembership.objects.create(user=ann, team=Team.objects.get(name="CS West"), start_date=date(2025, 10, 1))
    assert PendingRecompute.objects.exists()
    summary = recompute.process_pending(TODAY)
    assert summary.mode == "incremental"
    incremental = (snapshot_table(), frozen_table(), case_table())
    recompute.recompute_all(TODAY)
    assert (snapshot_table(), frozen_table(), case_table()) == incremental


def test_sharded_full_recompute_writes_the_same_tables(company, settings):
    one_shard = (snapshot_table(), case_table())
    settings.RECOMPUTE_SHARD_CUSTOMERS = 1
    summary = recompute.recompute_all(TODAY)
    assert summary.customers == 3  # shards
    assert (snapshot_table(), case_table()) == one_shard
    # A shard computed twice (a redelivered task) gives the same totals and the same cases.
    status = RecomputeStatus.get()
    lo = hi = company["beta"].pk
    from metrics.models import ShardResult
    from metrics.recompute import engine, shards

    def stored_totals():
        stored = ShardResult.objects.get(version=status.input_version, first_customer_id=lo).totals
        return engine.BlockTotals.from_bytes(bytes(stored)).to_partial()

    shards.compute_shard(status.input_version, TODAY.isoformat(), "2025-01-01", lo, hi)
    first = stored_totals()
    assert first.totals  # Beta's figures are in it
    shards.compute_shard(status.input_version, TODAY.isoformat(), "2025-01-01", lo, hi)
    assert stored_totals() == first
    assert case_table() == one_shard[1]


def test_a_new_day_recomputes_the_current_periods_like_a_full_run(company):
    # A new day reads only the lines ending on or after the current periods' first s-1 (here
    # 2025-12-31): these customers' first revenue days are on lines that ended before it.
    delta = Customer.objects.create(external_id="C4", name="Delta", segment="SMB")
    epsilon = Customer.objects.create(external_id="C5", name="Epsilon", segment="SMB")
    zeta = Customer.objects.create(external_id="C6", name="Zeta", segment="SMB")
    for customer, product, start, end in [
        (delta, "Core", date(2025, 1, 1), date(2025, 6, 30)),  # reactivates on 2026-11-24
        (delta, "Core", date(2026, 11, 24), None),  # then 23 months on 2026-12-01: "12-24", not "0-6"
        (epsilon, "Core", date(2024, 12, 1), date(2025, 6, 30)),  # 24 months on 2026-12-01: "24+"
        (epsilon, "Add-on", date(2025, 7, 1), date(2026, 11, 30)),  # and churns that day
        (zeta, "Core", date(2025, 2, 1), date(2025, 3, 31)),  # reactivates on 2026-12-01
        (zeta, "Core", date(2026, 12, 1), None),
    ]:
        ContractLine.objects.create(
            external_id=f"N{ContractLine.objects.count()}",
            customer=customer,
            product=product,
            start_date=start,
            end_date=end,
            arr=Decimal("700.00"),
        )
    for last_day, next_day in [(TODAY, date(2026, 11, 24)), (date(2026, 11, 30), date(2026, 12, 1))]:
        recompute.recompute_all(last_day)
        summary = recompute.process_pending(next_day)
        assert summary.mode == "new day"
        new_day = (snapshot_table(), case_table())
        month = RetentionSnapshot.objects.get(
            granularity="month", period_start=next_day.replace(day=1), scope_type="company"
        )
        assert month.reactivation_arr == Decimal("700.00") and not month.new_arr
        recompute.recompute_all(next_day)
        assert (snapshot_table(), case_table()) == new_day, next_day
    assert RetentionSnapshot.objects.filter(
        granularity="month",
        period_start=date(2026, 12, 1),
        scope_type="tenure",
        scope_key="24+",
        churn=Decimal("700.00"),
    ).exists()
    assert ChurnCase.objects.filter(customer=epsilon, date=date(2026, 12, 1), kind="churn").exists()


def test_a_change_on_a_new_day_does_both(company):
    ContractLine.objects.filter(external_id="L4").update(end_date=date(2026, 11, 23))  # Gamma churns tomorrow
    Customer.objects.get(pk=company["gamma"].pk).save()  # the trigger (update() sends no signal)
    summary = recompute.process_pending(date(2026, 11, 24))
    assert summary.mode == "incremental"
    both = (snapshot_table(), case_table())
    assert ChurnCase.objects.filter(customer=company["gamma"], date=date(2026, 11, 24)).exists()
    recompute.recompute_all(date(2026, 11, 24))
    assert (snapshot_table(), case_table()) == both


def test_a_deleted_line_empties_scopes_that_lose_their_cohort(company):
    ContractLine.objects.filter(external_id="L4").delete()  # Gamma, the only 'unknown' segment
    recompute.process_pending(TODAY)
    assert not RetentionSnapshot.objects.filter(scope_type="segment", scope_key="unknown").exists()
    incremental = snapshot_table()
    recompute.recompute_all(TODAY)
    assert snapshot_table() == incremental


def test_recorded_reasons_survive_and_vanished_cases_go_void(company):
    case = ChurnCase.objects.get(customer=company["beta"])
    case.primary_reason = ChurnReason.objects.get(code="cost")
    case.notes = "Budget cut"
    case.save()
    line = ContractLine.objects.get(external_id="L3")
    line.end_date = date(2026, 5, 31)  # the churn moves a month: a new case, the old one goes void
    line.save()
    recompute.process_pending(TODAY)
    old = ChurnCase.objects.get(pk=case.pk)
    assert old.void and old.primary_reason.code == "cost" and old.notes == "Budget cut"
    new = ChurnCase.objects.get(customer=company["beta"], date=date(2026, 6, 1))
    assert not new.void and new.primary_reason is None
    line.end_date = date(2026, 4, 30)  # corrected back: the original case comes back with its reason
    line.save()
    recompute.process_pending(TODAY)
    assert not ChurnCase.objects.get(pk=case.pk).void
    assert ChurnCase.objects.get(pk=new.pk).void


def test_a_run_that_fails_midway_keeps_the_last_good_snapshots(company, monkeypatch):
    before = (snapshot_table(), frozen_table())
    line = ContractLine.objects.get(external_id="L2")
    line.arr = Decimal("9999.00")
    line.save()
    calls = []

    def explode(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("worker killed")

    monkeypatch.setattr(engine, "cases", explode)
    with pytest.raises(RuntimeError):
        recompute.recompute_all(TODAY)
    assert calls and (snapshot_table(), frozen_table()) == before
    assert RecomputeStatus.get().running_version is None  # the failed run does not hold the next one back
    assert PendingRecompute.objects.exists()  # the trigger is still there for the retry
    monkeypatch.undo()
    recompute.process_pending(TODAY)
    assert not PendingRecompute.objects.exists()
    acme_month = RetentionSnapshot.objects.get(granularity="month", period_start=date(2026, 1, 1), scope_type="company")
    assert acme_month.ending_arr == Decimal("14299.00")  # 9999 + 4000 + 300


@pytest.mark.django_db(transaction=True)
def test_runs_wait_for_each_other_on_the_lock():
    from django.conf import settings

    customer = Customer.objects.create(external_id="C9", name="Solo")
    ContractLine.objects.create(
        external_id="L9", customer=customer, product="Core", start_date=date(2026, 1, 1), arr=Decimal("100.00")
    )
    db = settings.DATABASES["default"]
    other = psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"],
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
    )
    other.execute("SELECT pg_advisory_lock(%s)", [writing.LOCK_KEY])
    done = threading.Event()

    def run():
        try:
            recompute.process_pending(TODAY)
        finally:
            from django.db import connections

            connections.close_all()
            done.set()

    thread = threading.Thread(target=run)
    thread.start()
    assert not done.wait(1.0), "a second run must wait while another holds the lock"
    assert not RetentionSnapshot.objects.exists()
    other.execute("SELECT pg_advisory_unlock(%s)", [writing.LOCK_KEY])
    other.close()
    assert done.wait(30)
    thread.join()
    assert RetentionSnapshot.objects.filter(
        scope_type="company", granularity="month", period_start=date(2026, 1, 1)
    ).exists()


def test_an_import_recomputes_only_the_customers_it_touched(company, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    PendingRecompute.objects.all().delete()
    (tmp_path / "contracts.csv").write_text(
        "external_id,customer_external_id,product,start_date,end_date,arr\n"
        "L4,C3,Add-on,2025-06-01,,450.00\n"  # Gamma's line changes
        "L9,C1,Extra,2026-09-01,,120.00\n"  # Acme gets a line
    )
    (tmp_path / "team_memberships.csv").write_text(
        "email,team,start_date,end_date\nbob@example.com,CS East,2020-01-01,\n"
    )
    call_command("import_data", str(tmp_path), stdout=StringIO())
    touched = set(PendingRecompute.objects.values_list("customer_id", flat=True))
    # Gamma and Acme by their lines; Bob's move re-attributes his book (Acme, Beta). No full run.
    assert touched == {company["gamma"].pk, company["acme"].pk, company["beta"].pk}
    summary = recompute.process_pending(TODAY)
    assert (summary.mode, summary.customers) == ("incremental", 3)
    incremental = (snapshot_table(), frozen_table(), case_table())
    recompute.recompute_all(TODAY)
    assert (snapshot_table(), frozen_table(), case_table()) == incremental


def test_a_deleted_customer_leaves_the_figures_like_a_full_run(company):
    company["beta"].delete()
    summary = recompute.process_pending(TODAY)
    assert summary.mode == "incremental"
    after = (snapshot_table(), case_table())
    recompute.recompute_all(TODAY)
    assert (snapshot_table(), case_table()) == after


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_during_a_run_is_neither_lost_nor_counted_twice(monkeypatch):
    from metrics.recompute import loading
    from tests.web_support import build_company

    build_company()
    real = loading.live_rows

    def read_then_someone_edits(customer_ids, memberships):
        rows = real(customer_ids, memberships)

        def edit():  # another connection commits while the run is between its read and its freeze
            from django.db import connections

            line = ContractLine.objects.get(external_id="L9")
            line.arr = Decimal("7777.00")
            line.save()
            connections.close_all()

        thread = threading.Thread(target=edit)
        thread.start()
        thread.join()
        return rows

    line = ContractLine.objects.get(external_id="L9")
    line.arr = Decimal("6100.00")
    line.save()
    monkeypatch.setattr(loading, "live_rows", read_then_someone_edits)
    recompute.process_pending(TODAY)
    monkeypatch.undo()
    assert PendingRecompute.objects.exists()  # the edit made meanwhile waits for the next run
    recompute.process_pending(TODAY)
    incremental = (snapshot_table(), frozen_table())
    recompute.recompute_all(TODAY)
    assert (snapshot_table(), frozen_table()) == incremental
    zeta = RetentionSnapshot.objects.get(
        granularity="month", period_start=date(2026, 11, 1), scope_type="segment", scope_key="unknown"
    )
    assert zeta.starting_arr == Decimal("7777.00")
