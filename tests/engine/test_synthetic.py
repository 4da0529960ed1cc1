"""The synthetic company: valid for the importer, every kind of event present, same seed same data."""

import csv
import itertools
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest

from metrics.synthetic import FILES, NamedUser, generate

TODAY = date(2026, 11, 23)
DAY = timedelta(days=1)


def read(directory, name):
    with open(directory / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def as_date(text):
    return date.fromisoformat(text) if text else None


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    directory = tmp_path_factory.mktemp("synthetic")
    generate(directory, customers=400, years=4, today=TODAY, seed=7, teams=5, users=20)
    return directory


def lines_by_customer(directory):
    lines = defaultdict(list)
    for row in read(directory, "contracts.csv"):
        lines[row["customer_external_id"]].append(
            (row["product"], as_date(row["start_date"]), as_date(row["end_date"]), Decimal(row["arr"]))
        )
    return lines


def arr_on(lines, day, product=None):
    return sum(
        (arr for p, start, end, arr in lines if start <= day and (end is None or day <= end) and product in (None, p)),
        Decimal(0),
    )


def revenue_events(lines):
    """Classify what happened on every day a customer's lines change (SPEC section 3 vocabulary)."""
    events = set()
    change_days = sorted({start for _, start, _, _ in lines} | {end + DAY for _, _, end, _ in lines if end})
    had_revenue = False
    for day in change_days:
        before, after = arr_on(lines, day - DAY), arr_on(lines, day)
        if before > 0 and after == 0:
            events.add("churn")
        if before == 0 and after > 0 and had_revenue:
            last_day = max(end for _, _, end, _ in lines if end and end < day)
            events.add("late renewal" if (day - last_day).days <= 60 else "reactivation")
        if 0 < after < before:
            events.add("contraction")
        if before > 0 and after > before:
            for product, start, _, arr in lines:
                if start != day:
                    continue
                if arr_on(lines, day - DAY, product) == 0:
                    events.add("cross-sell")
                elif any(p == product and end == day - DAY and old < arr for p, _, end, old in lines):
                    events.add("upsell")
        had_revenue = had_revenue or after > 0
    return events


def test_company_contains_every_kind_of_event(company):
    events = set()
    for lines in lines_by_customer(company).values():
        events |= revenue_events(lines)
    assert {"upsell", "cross-sell", "contraction", "churn", "reactivation", "late renewal"} <= events

    spans = defaultdict(list)
    for row in read(company, "assignments.csv"):
        spans[row["customer_external_id"], row["role"]].append(
            (as_date(row["start_date"]), as_date(row["end_date"]), row["email"])
        )
    transfers = gaps = 0
    for rows in spans.values():
        rows.sort()
        for (_, end, owner), (start, _, next_owner) in itertools.pairwise(rows):
            transfers += end + DAY == start and owner != next_owner
            gaps += start > end + DAY
    assert transfers > 0, "no book was transferred"
    assert gaps > 0, "no customer was ever unassigned for a while"
    assert {role for _, role in spans} == {"csm", "am"}
    customers = {row["external_id"] for row in read(company, "customers.csv")}
    assert {c for c, role in spans if role == "csm"} == customers, "every customer has a CSM"

    moves = defaultdict(list)
    for row in read(company, "team_memberships.csv"):
        moves[row["email"]].append((row["start_date"], row["end_date"], row["team"]))
    assert any(len({team for *_, team in rows}) > 1 for rows in moves.values()), "nobody moved team"


def test_data_keeps_the_rules_of_the_import_format(company):
    contracts = read(company, "contracts.csv")
    assert len({row["external_id"] for row in contracts}) == len(contracts)
    ends = {(row["customer_external_id"], row["product"], row["end_date"]) for row in contracts if row["end_date"]}
    for row in contracts:
        assert Decimal(row["arr"]) > 0
        assert not row["end_date"] or row["end_date"] >= row["start_date"]
        # lines running today are open: no churn is scheduled in the future
        assert row["end_date"] == "" or as_date(row["end_date"]) < TODAY
        # the one-day overlap slip the importer warns about: same product ending the day it starts
        assert (row["customer_external_id"], row["product"], row["start_date"]) not in ends
    assert 3 <= len({row["product"] for row in contracts}) <= 5

    spans = defaultdict(list)
    for row in read(company, "assignments.csv"):
        spans[row["customer_external_id"], row["role"]].append((as_date(row["start_date"]), as_date(row["end_date"])))
    for rows in spans.values():
        rows.sort()
        for (_, end), (next_start, _) in itertools.pairwise(rows):
            assert end is not None and end < next_start, "assignments of one customer and role overlap"

    customers = read(company, "customers.csv")
    assert {row["segment"] for row in customers} == {"SMB", "Mid-Market", "Enterprise"}
    assert {row["region"] for row in customers} == {"NA", "EMEA", "APAC", "LATAM"}
    assert "" in {row["use_case"] for row in customers}, "some use cases are left empty"
    teams = read(company, "teams.csv")
    assert sorted(row["function"] for row in teams) == ["account_management"] * 2 + ["customer_success"] * 3


def test_same_seed_same_bytes_other_seed_other_company(tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate(tmp_path / name, customers=60, years=3, today=TODAY, seed=seed)
    for file_name in FILES:
        assert (tmp_path / "a" / file_name).read_bytes() == (tmp_path / "b" / file_name).read_bytes()
    assert (tmp_path / "a" / "contracts.csv").read_bytes() != (tmp_path / "c" / "contracts.csv").read_bytes()


def test_named_users_are_placed_in_their_teams_and_own_books(tmp_path):
    named = (
        NamedUser("Lead@Example.com", "Lena Lead", team=0, lead=True),
        NamedUser("csm@example.com", "Casey CSM", team=0),
        NamedUser("am@example.com", "Alex AM", team=3),
        NamedUser("exec@example.com", "Erin Exec", role="executive"),
    )
    generate(tmp_path, customers=200, years=2, today=TODAY, seed=5, named_users=named)
    teams = read(tmp_path, "teams.csv")
    users = {row["email"]: row for row in read(tmp_path, "users.csv")}
    assert teams[0]["lead_email"] == "lead@example.com"
    assert users["lead@example.com"]["team"] == users["csm@example.com"]["team"] == teams[0]["name"]
    assert users["lead@example.com"]["role"] == "lead"
    assert users["am@example.com"]["team"] == teams[3]["name"] and teams[3]["function"] == "account_management"
    assert users["exec@example.com"]["team"] == "" and users["exec@example.com"]["role"] == "executive"
    books = defaultdict(set)
    for row in read(tmp_path, "assignments.csv"):
        books[row["email"], row["role"]].add(row["customer_external_id"])
    assert len(books["csm@example.com", "csm"]) >= 5
    assert len(books["am@example.com", "am"]) >= 5
    assert not books["lead@example.com", "csm"] and not books["exec@example.com", "csm"]
    moved = {row["email"] for row in read(tmp_path, "team_memberships.csv")}
    assert not moved & {"lead@example.com", "csm@example.com", "am@example.com"}


@pytest.mark.django_db
def test_importer_accepts_the_generated_company_without_warnings(company):
    from accounts.models import Team, TeamMembership
    from metrics.importing import import_directory
    from metrics.models import Assignment, ContractLine, Customer

    result = import_directory(company)
    assert result.warnings == []  # e.g. no one-day overlap slips
    assert Customer.objects.count() == len(read(company, "customers.csv"))
    assert ContractLine.objects.count() == len(read(company, "contracts.csv"))
    assert Assignment.objects.count() == len(read(company, "assignments.csv"))
    assert Team.objects.filter(lead__isnull=False).count() == 5
    mover = read(company, "team_memberships.csv")[0]["email"]
    assert TeamMembership.objects.filter(user__email=mover).values("team").distinct().count() == 2
    assert not import_directory(company).changed, "a second import of the same files changes nothing"
