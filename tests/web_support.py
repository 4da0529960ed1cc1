"""A small company for the page tests, built through the models and computed by recompute_all.

October 2026 (the last complete month on TODAY) holds one of every movement:

- Acme (Ann, CS East; AM Amy): Core 12,000 all along, adds Add-on 3,000 on Oct 1 -> cross-sell.
- Beta (Ann): Core 24,000 ends Oct 15 -> churn.
- Gamma (Cid, CS East): Core 10,000 ends Sep 30, 7,000 from Oct 1 -> contraction.
- Delta (Bob, CS West): Core 8,000 ends Sep 30, 11,000 from Oct 1 -> upsell.
- Epsilon (Bob): first revenue Oct 10, 5,000 -> new.
- Zeta (no owner, no segment): 6,000 all along -> unassigned, segment 'unknown'.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Role, Team, TeamMembership, User
from metrics import recompute
from metrics.models import Assignment, ContractLine, Customer, PendingRecompute

TODAY = date(2026, 11, 23)
OCTOBER = date(2026, 10, 1)
PASSWORD = "a-long-test-password"
EPOCH = date(2024, 1, 1)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Sign-ins and user creation with the production hasher take a second each; tests need no strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def build_company(compute: bool = True) -> dict:
    east = Team.objects.create(name="CS East", function="customer_success")
    west = Team.objects.create(name="CS West", function="customer_success")
    am_team = Team.objects.create(name="AM Team", function="account_management")
    make = User.objects.create_user
    people = {
        "admin": make("admin@example.com", PASSWORD, role=Role.ADMIN, full_name="Ada Admin"),
        "executive": make("exec@example.com", PASSWORD, role=Role.EXECUTIVE, full_name="Eve Exec"),
        "lead": make("lena@example.com", PASSWORD, role=Role.LEAD, full_name="Lena Lead"),
        "west_lead": make("walt@example.com", PASSWORD, role=Role.LEAD, full_name="Walt Lead"),
        "ann": make("ann@example.com", PASSWORD, role=Role.MEMBER, full_name="Ann CSM"),
        "cid": make("cid@example.com", PASSWORD, role=Role.MEMBER, full_name="Cid CSM"),
        "bob": make("bob@example.com", PASSWORD, role=Role.MEMBER, full_name="Bob CSM"),
        "amy": make("amy@example.com", PASSWORD, role=Role.MEMBER, full_name="Amy AM"),
    }
    east.lead, west.lead = people["lead"], people["west_lead"]
    east.save()
    west.save()
    for person, team in [
        ("lead", east),
        ("ann", east),
        ("cid", east),
        ("west_lead", west),
        ("bob", west),
        ("amy", am_team),
    ]:
        TeamMembership.objects.create(user=people[person], team=team, start_date=EPOCH)

    customer = Customer.objects.create
    acme = customer(external_id="C1", name="Acme", segment="Enterprise", region="EMEA", industry="Retail")
    beta = customer(external_id="C2", name="Beta", segment="Enterprise", region="NA", industry="Finance")
    gamma = customer(external_id="C3", name="Gamma", segment="SMB", region="NA", industry="Retail")
    delta = customer(external_id="C4", name="Delta", segment="SMB", region="EMEA", industry="Health")
    epsilon = customer(external_id="C5", name="Epsilon", segment="SMB", region="NA", industry="Health")
    zeta = customer(external_id="C6", name="=Zeta", region="APAC")  # a formula-looking name, no segment

    def line(ext, who, product, start, end, arr):
        ContractLine.objects.create(
            external_id=ext, customer=who, product=product, start_date=start, end_date=end, arr=Decimal(arr)
        )

    line("L1", acme, "Core", date(2025, 1, 1), None, "12000")
    line("L2", acme, "Add-on", OCTOBER, None, "3000")
    line("L3", beta, "Core", date(2025, 3, 1), date(2026, 10, 14), "24000")
    line("L4", gamma, "Core", date(2025, 6, 1), date(2026, 9, 30), "10000")
    line("L5", gamma, "Core", OCTOBER, None, "7000")
    line("L6", delta, "Core", date(2025, 2, 1), date(2026, 9, 30), "8000")
    line("L7", delta, "Core", OCTOBER, None, "11000")
    line("L8", epsilon, "Core", date(2026, 10, 10), None, "5000")
    line("L9", zeta, "Core", date(2025, 1, 1), None, "6000")

    for who, owner, role in [
        (acme, "ann", "csm"),
        (beta, "ann", "csm"),
        (gamma, "cid", "csm"),
        (delta, "bob", "csm"),
        (epsilon, "bob", "csm"),
        (acme, "amy", "am"),
        (delta, "amy", "am"),
    ]:
        Assignment.objects.create(customer=who, user=people[owner], role=role, start_date=date(2025, 1, 1))

    if compute:
        PendingRecompute.objects.all().delete()
        recompute.recompute_all(TODAY)
    customers = {"acme": acme, "beta": beta, "gamma": gamma, "delta": delta, "epsilon": epsilon, "zeta": zeta}
    return {**people, **customers, "east": east, "west": west, "am_team": am_team}
