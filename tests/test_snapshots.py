"""The snapshot writer against real PostgreSQL: full and incremental runs agree, cases keep their
reasons, a failed run leaves the last good snapshots, and the lock serialises runs."""

import threading
from datetime import date
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction

from accounts.models import Team, TeamMembership, User
from metrics import snapshots
from metrics.models import (
    AccountMovement,
    Assignment,
    ChurnCase,
    ChurnReason,
    ContractLine,
    Customer,
    PendingRecompute,
    RetentionSnapshot,
)

TODAY = date(2026, 11, 23)


def snapshot_table():
    fields = [f.name for f in RetentionSnapshot._meta.fields if f.name not in ("id", "computed_at")]
    return sorted(tuple(str(v) for v in row) for row in RetentionSnapshot.objects.values_list(*fields))


def movement_table():
    fields = [f.attname for f in AccountMovement._meta.fields if f.name != "id"]
    return sorted(tuple(str(v) for v in row) for row in AccountMovement.objects.values_list(*fields))


@pytest.fixture
def company(db):
    """Three customers, two CSMs in two teams, one AM; an upsell, a churn and a transfer."""
    cs1 = Team.objects.create(name="CS East", function="customer_success")
    cs2 = Team.objects.create(name="CS West", function="customer_success")
    am_team = Team.objects.create(name="AM", function="account_management")
    ann = User.objects.create_user("ann@example.com")
    bob = User.objects.create_user("bob@example.com")
    amy = User.objects.create_user("amy@example.com")
    TeamMembership.objects.create(user=ann, team=cs1, start_date=date(2020, 1, 1))
    TeamMembership.objects.create(user=bob, team=cs2, start_date=date(2020, 1, 1))
    TeamMembership.objects.create(user=amy, team=am_team, start_date=date(2020, 1, 1))
    acme = Customer.objects.create(external_id="C1", name="Acme", segment="SMB")
    beta = Customer.objects.create(external_id="C2", name="Beta", segment="Enterprise")
    gamma = Customer.objects.create(external_id="C3", name="Gamma")
    ContractLine.objects.create(external_id="L1", customer=acme, product="Core", start_date=date(2025, 1, 1), end_date=date(2025, 12, 31), arr=Decimal("1000.00"))
    ContractLine.objects.create(external_id="L2", customer=acme, product="Core", start_date=date(2026, 1, 1), arr=Decimal("1500.00"))
    ContractLine.objects.create(external_id="L3", customer=beta, product="Core", start_date=date(2025, 3, 1), end_date=date(2026, 4, 30), arr=Decimal("4000.00"))
    ContractLine.objects.create(external_id="L4", customer=gamma, product="Add-on", start_date=date(2025, 6, 1), arr=Decimal("300.00"))
    Assignment.objects.create(customer=acme, user=ann, role="csm", start_date=date(2025, 1, 1), end_date=date(2026, 2, 28))
    Assignment.objects.create(customer=acme, user=bob, role="csm", start_date=date(2026, 3, 1))
    Assignment.objects.create(customer=beta, user=bob, role="csm", start_date=date(2025, 1, 1))
    Assignment.objects.create(customer=acme, user=amy, role="am", start_date=date(2025, 1, 1))
    PendingRecompute.objects.all().delete()
    snapshots.recompute_all(TODAY)
    return {"acme": acme, "beta": beta, "gamma": gamma, "ann": ann, "bob": bob, "amy": amy, "cs1": cs1}


def test_full_run_writes_the_spec_figures(company):
    year = RetentionSnapshot.objects.get(granularity="year", period_start=date(2026, 1, 1), scope_type="company")
    # Cohort on 2025-12-31: Acme 1000, Beta 4000, Gamma 300. On today: Acme 1500, Beta 0, Gamma 300.
    assert (year.starting_arr, year.expansion, year.churn, year.ending_arr) == (
        Decimal("5300.00"), Decimal("500.00"), Decimal("4000.00"), Decimal("1800.00"))
    assert year.partial and year.period_end == date(2026, 12, 31)
    assert year.nrr == Decimal("0.3396") and year.grr == Decimal("0.2453")
    bob_year = RetentionSnapshot.objects.get(granularity="year", period_start=date(2026, 1, 1), scope_type="owner", scope_key="bob@example.com", role="csm")
    assert bob_year.starting_arr == Decimal("4000.00")  # Acme moved to Bob only in March
    unassigned = RetentionSnapshot.objects.get(granularity="year", period_start=date(2026, 1, 1), scope_type="owner", scope_key="unassigned", role="csm")
    assert unassigned.starting_arr == Decimal("300.00")
    case = ChurnCase.objects.get(customer=company["beta"])
    assert (case.kind, case.date, case.lost_arr, case.csm_owner) == ("churn", date(2026, 5, 1), Decimal("4000.00"), company["bob"])
    assert AccountMovement.objects.filter(granularity="year", period_start=date(2026, 1, 1), product="").count() == 3


def test_incremental_runs_match_a_full_recompute(company):
    acme, beta, gamma, ann, bob = (company[k] for k in ("acme", "beta", "gamma", "ann", "bob"))
    with transaction.atomic():
        line = ContractLine.objects.get(external_id="L2")
        line.arr = Decimal("1750.50")
        line.save()
        ContractLine.objects.create(external_id="L5", customer=gamma, product="Core", start_date=date(2026, 2, 1), arr=Decimal("99.99"))
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
    summary = snapshots.process_pending(TODAY)
    assert summary.mode == "customers"
    incremental = (snapshot_table(), movement_table())
    snapshots.recompute_all(TODAY)
    assert (snapshot_table(), movement_table()) == incremental


def test_forked_full_recompute_writes_the_same_tables(company, settings, monkeypatch):
    serial = (snapshot_table(), movement_table())
    settings.RECOMPUTE_PROCESSES = 2
    monkeypatch.setattr(snapshots, "PARALLEL_MIN_CUSTOMERS", 0)
    Customer.objects.filter(pk=company["gamma"].pk).update(name="Gamma\tTab", segment="A\\B\nC")
    snapshots.recompute_all(TODAY)
    forked = (snapshot_table(), movement_table())
    settings.RECOMPUTE_PROCESSES = 1
    snapshots.recompute_all(TODAY)
    assert forked == (snapshot_table(), movement_table())
    assert forked != serial  # the odd segment name made it through COPY's escaping
    assert AccountMovement.objects.filter(segment="A\\B\nC").exists()


def test_a_deleted_line_empties_scopes_that_lose_their_cohort(company):
    ContractLine.objects.filter(external_id="L4").delete()  # Gamma, the only 'unknown' segment
    snapshots.process_pending(TODAY)
    assert not RetentionSnapshot.objects.filter(scope_type="segment", scope_key="unknown").exists()
    incremental = snapshot_table()
    snapshots.recompute_all(TODAY)
    assert snapshot_table() == incremental


def test_recorded_reasons_survive_and_vanished_cases_go_void(company):
    case = ChurnCase.objects.get(customer=company["beta"])
    case.primary_reason = ChurnReason.objects.get(code="cost")
    case.notes = "Budget cut"
    case.save()
    line = ContractLine.objects.get(external_id="L3")
    line.end_date = date(2026, 5, 31)  # the churn moves a month: a new case, the old one goes void
    line.save()
    snapshots.process_pending(TODAY)
    old = ChurnCase.objects.get(pk=case.pk)
    assert old.void and old.primary_reason.code == "cost" and old.notes == "Budget cut"
    new = ChurnCase.objects.get(customer=company["beta"], date=date(2026, 6, 1))
    assert not new.void and new.primary_reason is None
    line.end_date = date(2026, 4, 30)  # corrected back: the original case comes back with its reason
    line.save()
    snapshots.process_pending(TODAY)
    assert not ChurnCase.objects.get(pk=case.pk).void
    assert ChurnCase.objects.get(pk=new.pk).void


def test_a_run_that_fails_midway_keeps_the_last_good_snapshots(company, monkeypatch):
    before = (snapshot_table(), movement_table())
    line = ContractLine.objects.get(external_id="L2")
    line.arr = Decimal("9999.00")
    line.save()
    calls = []

    def explode(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("worker killed")

    monkeypatch.setattr(snapshots.engine, "customer_cases", explode)
    with pytest.raises(RuntimeError):
        snapshots.recompute_all(TODAY)
    assert calls and (snapshot_table(), movement_table()) == before
    assert PendingRecompute.objects.exists()  # the trigger is still there for the retry
    monkeypatch.undo()
    snapshots.process_pending(TODAY)
    assert not PendingRecompute.objects.exists()
    acme_month = RetentionSnapshot.objects.get(granularity="month", period_start=date(2026, 1, 1), scope_type="company")
    assert acme_month.ending_arr == Decimal("14299.00")  # 9999 + 4000 + 300


@pytest.mark.django_db(transaction=True)
def test_runs_wait_for_each_other_on_the_lock():
    from django.conf import settings

    customer = Customer.objects.create(external_id="C9", name="Solo")
    ContractLine.objects.create(external_id="L9", customer=customer, product="Core", start_date=date(2026, 1, 1), arr=Decimal("100.00"))
    db = settings.DATABASES["default"]
    other = psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"],
        dbname=connection.settings_dict["NAME"], autocommit=True,
    )  # fmt: skip
    other.execute("SELECT pg_advisory_lock(%s)", [snapshots.LOCK_KEY])
    done = threading.Event()

    def run():
        try:
            snapshots.process_pending(TODAY)
        finally:
            from django.db import connections

            connections.close_all()
            done.set()

    thread = threading.Thread(target=run)
    thread.start()
    assert not done.wait(1.0), "a second run must wait while another holds the lock"
    assert not RetentionSnapshot.objects.exists()
    other.execute("SELECT pg_advisory_unlock(%s)", [snapshots.LOCK_KEY])
    other.close()
    assert done.wait(30)
    thread.join()
    assert RetentionSnapshot.objects.filter(scope_type="company", granularity="month", period_start=date(2026, 1, 1)).exists()
