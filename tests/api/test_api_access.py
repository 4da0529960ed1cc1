"""Every API endpoint against every role: allowed, forbidden (403), not found (404), anonymous (401).

Reads are scoped exactly like the pages (metrics.scoping.Visibility); another team's object by id
is a 404, never its data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

import pytest
from rest_framework.test import APIClient

from accounts.models import Team
from metrics.models import Assignment, ChurnReason, ContractLine, Customer, PendingRecompute, RetentionSnapshot
from tests.api_support import token_client

ROLES = ["anonymous", "admin", "executive", "lead", "member"]
_serial = count(1)


def client_for(world, role) -> APIClient:
    return APIClient() if role == "anonymous" else token_client(world[role])


def statuses(ok: int, *, lead: int, member: int, executive: int | None = None, admin: int | None = None) -> dict:
    return {"anonymous": 401, "admin": admin or ok, "executive": executive or ok, "lead": lead, "member": member}


@dataclass
class Case:
    name: str
    method: str
    path: callable
    expected: dict
    body: callable = field(default=lambda w: None)


def line_body(w):
    n = next(_serial)
    return {"external_id": f"LX{n}", "customer": "C1", "product": "Core", "start_date": "2027-01-01", "arr": "10.00"}


def assignment_body(w):
    return {
        "customer": "C3",
        "user": "bob@example.com",
        "role": "csm",
        "start_date": f"2027-01-{next(_serial) % 28 + 1:02d}",
    }


READ_EVERYWHERE = statuses(200, lead=200, member=200)
WEST_ONLY_FOR_ALL_SEEING = statuses(200, lead=404, member=404)
ADMIN_WRITES = statuses(200, lead=403, member=403, executive=403)
QUERIES = {"movements": "?granularity=year&period_start=2026-01-01"}  # the accounts behind one period's rows

CASES = [
    # Lists: every signed-in role reads its own scope.
    *[
        Case(f"list {name}", "get", lambda w, n=name: f"/api/v1/{n}/{QUERIES.get(n, '')}", READ_EVERYWHERE)
        for name in [
            "retention",
            "movements",
            "customers",
            "contract-lines",
            "assignments",
            "teams",
            "users",
            "churn-cases",
            "reasons",
            "pareto",
            "pareto/coverage",
        ]
    ],
    *[
        Case(
            f"csv {name}",
            "get",
            lambda w, n=name: f"/api/v1/{n}/{QUERIES.get(n, '?')}&format=csv".replace("?&", "?"),
            READ_EVERYWHERE,
        )
        for name in ["retention", "movements", "customers", "churn-cases"]
    ],
    # Objects of the lead's own team (Ann's book) and of the other team (Bob's book).
    Case("east customer", "get", lambda w: f"/api/v1/customers/{w['acme'].pk}/", READ_EVERYWHERE),
    Case("west customer", "get", lambda w: f"/api/v1/customers/{w['beta'].pk}/", WEST_ONLY_FOR_ALL_SEEING),
    Case("unassigned customer", "get", lambda w: f"/api/v1/customers/{w['gamma'].pk}/", WEST_ONLY_FOR_ALL_SEEING),
    Case(
        "east line",
        "get",
        lambda w: f"/api/v1/contract-lines/{ContractLine.objects.get(external_id='L1').pk}/",
        READ_EVERYWHERE,
    ),
    Case(
        "west line",
        "get",
        lambda w: f"/api/v1/contract-lines/{ContractLine.objects.get(external_id='L3').pk}/",
        WEST_ONLY_FOR_ALL_SEEING,
    ),
    Case(
        "east assignment",
        "get",
        lambda w: f"/api/v1/assignments/{Assignment.objects.get(user=w['member']).pk}/",
        READ_EVERYWHERE,
    ),
    Case(
        "west assignment",
        "get",
        lambda w: f"/api/v1/assignments/{Assignment.objects.get(user=w['bob']).pk}/",
        WEST_ONLY_FOR_ALL_SEEING,
    ),
    Case("own team", "get", lambda w: f"/api/v1/teams/{w['east'].pk}/", statuses(200, lead=200, member=404)),
    Case("other team", "get", lambda w: f"/api/v1/teams/{w['west'].pk}/", WEST_ONLY_FOR_ALL_SEEING),
    Case("east user", "get", lambda w: f"/api/v1/users/{w['member'].pk}/", READ_EVERYWHERE),
    Case("west user", "get", lambda w: f"/api/v1/users/{w['bob'].pk}/", WEST_ONLY_FOR_ALL_SEEING),
    Case("east case", "get", lambda w: f"/api/v1/churn-cases/{w['acme_case'].pk}/", READ_EVERYWHERE),
    Case("west case", "get", lambda w: f"/api/v1/churn-cases/{w['beta_case'].pk}/", WEST_ONLY_FOR_ALL_SEEING),
    Case("reason", "get", lambda w: f"/api/v1/reasons/{ChurnReason.objects.get(code='cost').pk}/", READ_EVERYWHERE),
    Case("no such id", "get", lambda w: "/api/v1/customers/987654321/", statuses(404, lead=404, member=404)),
    # Writes: admins change customers, contract lines and assignments.
    Case(
        "create customer",
        "post",
        lambda w: "/api/v1/customers/",
        statuses(201, lead=403, member=403, executive=403),
        body=lambda w: {"external_id": f"CX{next(_serial)}", "name": "New Co"},
    ),
    Case(
        "update customer",
        "patch",
        lambda w: f"/api/v1/customers/{w['acme'].pk}/",
        ADMIN_WRITES,
        body=lambda w: {"region": "APAC"},
    ),
    Case(
        "create line",
        "post",
        lambda w: "/api/v1/contract-lines/",
        statuses(201, lead=403, member=403, executive=403),
        body=line_body,
    ),
    Case(
        "update line",
        "put",
        lambda w: f"/api/v1/contract-lines/{ContractLine.objects.get(external_id='L2').pk}/",
        ADMIN_WRITES,
        body=lambda w: {
            "external_id": "L2",
            "customer": "C1",
            "product": "Core",
            "start_date": "2026-06-01",
            "arr": "2100.00",
        },
    ),
    Case(
        "create assignment",
        "post",
        lambda w: "/api/v1/assignments/",
        statuses(201, lead=403, member=403, executive=403),
        body=assignment_body,
    ),
    Case(
        "update assignment",
        "patch",
        lambda w: f"/api/v1/assignments/{Assignment.objects.get(user=w['bob']).pk}/",
        ADMIN_WRITES,
        body=lambda w: {"end_date": "2027-12-31"},
    ),
    Case(
        "delete customer",
        "delete",
        lambda w: f"/api/v1/customers/{w['acme'].pk}/",
        statuses(405, lead=403, member=403, executive=403),
    ),
    # Reasons: admins everywhere, leads on their teams' cases.
    Case(
        "reasons on east case",
        "patch",
        lambda w: f"/api/v1/churn-cases/{w['acme_case'].pk}/",
        statuses(200, lead=200, member=403, executive=403),
        body=lambda w: {"primary_reason": "cost"},
    ),
    Case(
        "reasons on west case",
        "patch",
        lambda w: f"/api/v1/churn-cases/{w['beta_case'].pk}/",
        statuses(200, lead=404, member=403, executive=403),
        body=lambda w: {"primary_reason": "cost"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_role_gets_the_right_status(world, case):
    wrong = {}
    for role in ROLES:
        client = client_for(world, role)
        response = getattr(client, case.method)(case.path(world), case.body(world), format="json")
        if response.status_code != case.expected[role]:
            wrong[role] = (response.status_code, getattr(response, "content", b"")[:200])
    assert not wrong, f"{case.name}: expected {case.expected}, got {wrong}"


def ids(response, key="id"):
    assert response.status_code == 200, response.content
    return {row[key] for row in response.json()["results"]}


@pytest.mark.django_db
def test_lists_hold_exactly_the_callers_scope(world):
    everyone = {"C1", "C2", "C3"}
    expected_customers = {"admin": everyone, "executive": everyone, "lead": {"C1"}, "member": {"C1"}}
    all_users = {
        "admin@example.com",
        "exec@example.com",
        "lena@example.com",
        "ann@example.com",
        "walt@example.com",
        "bob@example.com",
        "amy@example.com",
    }
    expected_users = {
        "admin": all_users,
        "executive": all_users,
        "lead": {"lena@example.com", "ann@example.com"},
        "member": {"ann@example.com"},
    }
    for role, customers in expected_customers.items():
        client = token_client(world[role])
        assert ids(client.get("/api/v1/customers/"), "external_id") == customers, role
        for period_start in ("2025-01-01", "2026-01-01"):
            movements = client.get(
                "/api/v1/movements/", {"granularity": "year", "period_start": period_start, "scope_type": "company"}
            )
            assert ids(movements, "customer") == customers, (role, period_start)
        lines = ids(client.get("/api/v1/contract-lines/"), "customer")
        assert lines == customers, role
        assert ids(client.get("/api/v1/users/"), "email") == expected_users[role], role

    lead_rows = token_client(world["lead"]).get("/api/v1/retention/", {"page_size": 1000}).json()["results"]
    assert {(r["scope_type"], r["scope_key"]) for r in lead_rows} == {
        ("team", "CS East"),
        ("owner", "ann@example.com"),
    }  # Lena owns no book herself; she sees her team and its members, no company or other team
    member_rows = token_client(world["member"]).get("/api/v1/retention/", {"page_size": 1000}).json()["results"]
    # A member: its own book, and its team's totals to compare against; never another owner or team.
    assert {(r["scope_type"], r["scope_key"]) for r in member_rows} == {
        ("owner", "ann@example.com"),
        ("team", "CS East"),
    }
    executive_rows = token_client(world["executive"]).get("/api/v1/retention/", {"scope_type": "team"}).json()
    assert executive_rows["count"] == RetentionSnapshot.objects.filter(scope_type="team").count()

    west_cases = token_client(world["lead"]).get("/api/v1/churn-cases/", {"customer": "C2"})
    assert west_cases.json()["count"] == 0  # filtering by another team's customer reveals nothing


@pytest.mark.django_db
def test_forbidden_writes_change_nothing_and_queue_nothing(world):
    before = (Customer.objects.count(), PendingRecompute.objects.count())
    for role in ["executive", "lead", "member"]:
        client = token_client(world[role])
        assert client.post("/api/v1/customers/", {"external_id": "CX", "name": "X"}, format="json").status_code == 403
        assert (
            client.patch(f"/api/v1/customers/{world['acme'].pk}/", {"name": "Hacked"}, format="json").status_code == 403
        )
    world["acme"].refresh_from_db()
    assert world["acme"].name == "Acme"
    assert (Customer.objects.count(), PendingRecompute.objects.count()) == before
    assert Team.objects.count() == 3
