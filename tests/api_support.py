"""Fixtures for the API tests: a small company with two CS teams, every role, computed snapshots."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Role, Team, TeamMembership, User
from api.models import ApiToken
from metrics import recompute
from metrics.models import Assignment, ChurnCase, ContractLine, Customer, PendingRecompute

TODAY = date(2026, 11, 23)
PASSWORD = "a-long-test-password"


@pytest.fixture(autouse=True)
def reset_throttles():
    """Rate-limit counters live in Redis across tests; each test starts with none."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(match="*throttle_*"):
        client.delete(key)
    return


@pytest.fixture
def world(db, settings):
    """CS East (lead Lena, member Ann) and CS West (lead Walt, member Bob); an AM team (Amy).

    Acme (Ann, then contracting), Beta (Bob, churned), Gamma (unassigned). Snapshots computed.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
    east = Team.objects.create(name="CS East", function="customer_success")
    west = Team.objects.create(name="CS West", function="customer_success")
    am_team = Team.objects.create(name="AM", function="account_management")
    users = {
        "admin": User.objects.create_user("admin@example.com", PASSWORD, role=Role.ADMIN),
        "executive": User.objects.create_user("exec@example.com", PASSWORD, role=Role.EXECUTIVE),
        "lead": User.objects.create_user("lena@example.com", PASSWORD, role=Role.LEAD),
        "member": User.objects.create_user("ann@example.com", PASSWORD, role=Role.MEMBER),
        "west_lead": User.objects.create_user("walt@example.com", PASSWORD, role=Role.LEAD),
        "bob": User.objects.create_user("bob@example.com", PASSWORD, role=Role.MEMBER),
        "amy": User.objects.create_user("amy@example.com"),
    }
    east.lead, west.lead = users["lead"], users["west_lead"]
    east.save()
    west.save()
    start = date(2020, 1, 1)
    for user, team in [("lead", east), ("member", east), ("west_lead", west), ("bob", west), ("amy", am_team)]:
        TeamMembership.objects.create(user=users[user], team=team, start_date=start)
    acme = Customer.objects.create(external_id="C1", name="Acme", segment="SMB", region="EMEA")
    beta = Customer.objects.create(external_id="C2", name="Beta", segment="Enterprise", region="NA")
    gamma = Customer.objects.create(external_id="C3", name="=Gamma", region="NA")  # a formula-looking name
    line = ContractLine.objects.create
    line(
        external_id="L1",
        customer=acme,
        product="Core",
        start_date=date(2025, 1, 1),
        end_date=date(2026, 5, 31),
        arr=Decimal("3000.00"),
    )
    line(external_id="L2", customer=acme, product="Core", start_date=date(2026, 6, 1), arr=Decimal("2000.00"))
    line(
        external_id="L3",
        customer=beta,
        product="Core",
        start_date=date(2025, 3, 1),
        end_date=date(2026, 4, 30),
        arr=Decimal("4000.00"),
    )
    line(
        external_id="L4",
        customer=beta,
        product="Add-on",
        start_date=date(2025, 9, 1),
        end_date=date(2026, 4, 30),
        arr=Decimal("500.00"),
    )
    line(external_id="L5", customer=gamma, product="Add-on", start_date=date(2025, 6, 1), arr=Decimal("300.00"))
    Assignment.objects.create(customer=acme, user=users["member"], role="csm", start_date=date(2025, 1, 1))
    Assignment.objects.create(customer=beta, user=users["bob"], role="csm", start_date=date(2025, 1, 1))
    Assignment.objects.create(customer=acme, user=users["amy"], role="am", start_date=date(2025, 1, 1))
    PendingRecompute.objects.all().delete()
    recompute.recompute_all(TODAY)
    return {
        **users,
        "east": east,
        "west": west,
        "acme": acme,
        "beta": beta,
        "gamma": gamma,
        "acme_case": ChurnCase.objects.get(customer=acme),
        "beta_case": ChurnCase.objects.get(customer=beta),
    }


def token_client(user, name="test") -> APIClient:
    _, key = ApiToken.issue(user, name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def csv_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def all_pages(client, url: str, params: dict | None = None) -> list[dict]:
    """Every row of a paginated JSON list."""
    rows, page = [], 1
    while True:
        response = client.get(url, {**(params or {}), "page": page, "page_size": 1000})
        assert response.status_code == 200, response.content
        rows.extend(response.json()["results"])
        if not response.json()["next"]:
            return rows
        page += 1


def as_csv_text(value) -> str:
    """What a JSON value becomes in the CSV (the API's documented rule)."""
    from metrics.export import csv_cell

    return csv_cell(value)
