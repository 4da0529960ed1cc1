"""The recompute tests' small company (three customers, two CSMs in two teams, one AM) and the helpers
the recompute, worker and fault tests share."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Team, TeamMembership, User
from metrics import recompute
from metrics.models import (
    Assignment,
    ChurnCase,
    ContractLine,
    Customer,
    PendingRecompute,
    RecomputeStatus,
    RetentionSnapshot,
    SnapshotAssignment,
    SnapshotCustomer,
    SnapshotLine,
    SnapshotMembership,
)

TODAY = date(2026, 11, 23)


def wait_for(condition, seconds=60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def snapshot_table():
    fields = [f.name for f in RetentionSnapshot._meta.fields if f.name not in ("id", "computed_at")]
    return sorted(tuple(str(v) for v in row) for row in RetentionSnapshot.objects.values_list(*fields))


def case_table():
    fields = [f.attname for f in ChurnCase._meta.fields if f.name not in ("id",)]
    return sorted(tuple(str(v) for v in row) for row in ChurnCase.objects.values_list(*fields))


def frozen_table():
    """The inputs the current figures were computed from (version numbers aside)."""
    version = RecomputeStatus.get().input_version
    tables = []
    for model in (SnapshotCustomer, SnapshotLine, SnapshotAssignment, SnapshotMembership):
        fields = [f.attname for f in model._meta.fields if f.name not in ("id", "version")]
        tables.append(
            sorted(tuple(str(v) for v in row) for row in model.objects.filter(version=version).values_list(*fields))
        )
    return tables


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
    ContractLine.objects.create(
        external_id="L1",
        customer=acme,
        product="Core",
        start_date=date(2025, 1, 1),
        end_date=date(2025, 12, 31),
        arr=Decimal("1000.00"),
    )
    ContractLine.objects.create(
        external_id="L2", customer=acme, product="Core", start_date=date(2026, 1, 1), arr=Decimal("1500.00")
    )
    ContractLine.objects.create(
        external_id="L3",
        customer=beta,
        product="Core",
        start_date=date(2025, 3, 1),
        end_date=date(2026, 4, 30),
        arr=Decimal("4000.00"),
    )
    ContractLine.objects.create(
        external_id="L4", customer=gamma, product="Add-on", start_date=date(2025, 6, 1), arr=Decimal("300.00")
    )
    Assignment.objects.create(
        customer=acme, user=ann, role="csm", start_date=date(2025, 1, 1), end_date=date(2026, 2, 28)
    )
    Assignment.objects.create(customer=acme, user=bob, role="csm", start_date=date(2026, 3, 1))
    Assignment.objects.create(customer=beta, user=bob, role="csm", start_date=date(2025, 1, 1))
    Assignment.objects.create(customer=acme, user=amy, role="am", start_date=date(2025, 1, 1))
    PendingRecompute.objects.all().delete()
    recompute.recompute_all(TODAY)
    return {"acme": acme, "beta": beta, "gamma": gamma, "ann": ann, "bob": bob, "amy": amy, "cs1": cs1}
