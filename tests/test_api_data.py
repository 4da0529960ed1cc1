"""What the API reads: the SPEC section 5 rows and their filters, the accounts behind each row, JSON
and CSV giving the same rows, formula neutralising, streaming, and no 500 on malformed input."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from metrics.demo import build_demo
from metrics.export import RETENTION_COLUMNS, csv_cell
from metrics.models import AccountMovement, ChurnCase, ChurnReason, RetentionSnapshot
from tests.api_support import all_pages, csv_rows, reset_throttles, token_client, world  # noqa: F401  (fixtures)

LISTS = ["retention", "movements", "customers", "contract-lines", "assignments", "teams", "users", "churn-cases", "reasons", "pareto"]


@pytest.mark.parametrize("role", ["admin", "lead", "member"])
def test_json_and_csv_give_the_same_rows_and_columns(world, role):  # noqa: F811
    client = token_client(world[role])
    for name in LISTS:
        json_rows = all_pages(client, f"/api/v1/{name}/")
        response = client.get(f"/api/v1/{name}/", {"format": "csv"})
        assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"] == f'attachment; filename="{name}.csv"'
        reader = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
        rows = list(reader)
        assert json_rows or (role, name) == ("member", "teams"), f"{role} sees some {name}"
        if not json_rows:
            continue
        assert reader.fieldnames == list(json_rows[0]), name
        assert rows == [{k: csv_cell(v) for k, v in row.items()} for row in json_rows], name


@pytest.mark.django_db
def test_retention_rows_are_the_spec_columns(world):  # noqa: F811
    client = token_client(world["admin"])
    year = client.get("/api/v1/retention/", {"granularity": "year", "scope_type": "company", "from": "2026-01-01"}).json()
    assert year["count"] == 1
    assert year["results"][0] == {
        "period_start": "2026-01-01", "period_end": "2026-12-31", "granularity": "year", "partial": True,
        "scope_type": "company", "scope_key": "", "role": "",
        # Cohort on 2025-12-31: Acme 3000, Beta 4500, Gamma 300. Today: Acme 2000, Beta 0, Gamma 300.
        "starting_arr": "7800.00", "expansion": "0.00", "upsell": "0.00", "cross_sell": "0.00",
        "contraction": "1000.00", "churn": "4500.00", "ending_arr": "2300.00",
        "nrr": "0.2949", "grr": "0.2949", "logos_start": 3, "logos_churned": 1,
        "new_arr": "0.00", "reactivation_arr": "0.00",
    }  # fmt: skip
    owner = client.get("/api/v1/retention/", {"granularity": "year", "scope_type": "owner", "scope_key": "ann@example.com",
                                              "role": "csm", "from": "2026-01-01", "to": "2026-01-01"}).json()  # fmt: skip
    assert owner["count"] == 1 and list(owner["results"][0]) == RETENTION_COLUMNS
    assert owner["results"][0]["new_arr"] is None and owner["results"][0]["reactivation_arr"] is None
    first_month = client.get("/api/v1/retention/", {"granularity": "month", "scope_type": "company"}).json()["results"][0]
    assert first_month["starting_arr"] == "0.00" and first_month["nrr"] is None  # undefined, never 0


FILTERS = [
    {"granularity": "quarter"},
    {"scope_type": "segment", "scope_key": "SMB"},
    {"scope_type": "team", "role": "csm"},
    {"granularity": "ttm", "from": "2026-01-01"},
    {"granularity": "month", "from": "2025-06-01", "to": "2025-08-01"},
    {"partial": "true"},
    {"scope_key": "nobody"},
]


@pytest.mark.parametrize("params", FILTERS, ids=str)
def test_retention_filters_select_the_matching_snapshots(world, params):  # noqa: F811
    rows = all_pages(token_client(world["executive"]), "/api/v1/retention/", params)
    lookups = {"from": "period_start__gte", "to": "period_start__lte"}
    expected = RetentionSnapshot.objects.filter(**{lookups.get(k, k): (v == "true" if k == "partial" else v) for k, v in params.items()})
    assert len(rows) == expected.count()
    for row in rows:
        for key, value in params.items():
            if key == "from":
                assert row["period_start"] >= value
            elif key == "to":
                assert row["period_start"] <= value
            elif key == "partial":
                assert row[key] is (value == "true")
            else:
                assert row[key] == value


def test_retention_agrees_with_export_retention_row_for_row(world):  # noqa: F811
    out = io.StringIO()
    call_command("export_retention", stdout=out)
    command_rows = list(csv_rows_of(out.getvalue()))
    api_rows = csv_rows(token_client(world["admin"]).get("/api/v1/retention/", {"format": "csv"}))
    assert len(api_rows) == RetentionSnapshot.objects.count() > 100
    assert api_rows == command_rows


@pytest.mark.django_db
def test_retention_agrees_with_export_retention_on_the_demo_data(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    build_demo()
    out = io.StringIO()
    call_command("export_retention", stdout=out)
    command_rows = list(csv_rows_of(out.getvalue()))
    admin = token_client(User.objects.get(email="admin@example.com"))
    api_rows = csv_rows(admin.get("/api/v1/retention/", {"format": "csv"}))
    assert len(api_rows) == RetentionSnapshot.objects.count() > 5000
    assert api_rows == command_rows
    json_rows = all_pages(admin, "/api/v1/retention/", {"granularity": "quarter", "scope_type": "team"})
    assert [{k: csv_cell(v) for k, v in row.items()} for row in json_rows] == [
        row for row in command_rows if (row["granularity"], row["scope_type"]) == ("quarter", "team")
    ]


def csv_rows_of(text: str):
    return csv.DictReader(io.StringIO(text))


SCOPES = [
    ("company", "", ""),
    ("team", "CS East", "csm"),
    ("owner", "bob@example.com", "csm"),
    ("owner", "unassigned", "csm"),
    ("team", "AM", "am"),
    ("segment", "unknown", ""),
    ("region", "NA", ""),
    ("product", "Core", ""),
    ("tenure", "12-24", ""),
]


@pytest.mark.parametrize("scope_type, scope_key, role", SCOPES)
def test_the_movements_behind_a_retention_row_add_up_to_it(world, scope_type, scope_key, role):  # noqa: F811
    client = token_client(world["admin"])
    rows = 0
    for granularity, period_start in [("year", "2026-01-01"), ("quarter", "2026-04-01"), ("month", "2026-05-01"), ("ttm", "2025-12-01")]:
        scope = {"granularity": granularity, "scope_type": scope_type, "scope_key": scope_key, "role": role}
        found = client.get("/api/v1/retention/", {**scope, "from": period_start, "to": period_start}).json()["results"]
        if not found:
            continue
        row = found[0]
        behind = all_pages(client, "/api/v1/movements/", {**scope, "period_start": period_start})
        cohort = [m for m in behind if m["movement"] not in ("new", "reactivation")]
        total = lambda rows, key: sum((Decimal(m[key]) for m in rows), Decimal("0.00"))  # noqa: E731
        assert total(cohort, "starting_arr") == Decimal(row["starting_arr"])
        assert total(cohort, "ending_arr") == Decimal(row["ending_arr"])
        assert len(cohort) == row["logos_start"]
        assert sum(m["movement"] == "churn" for m in cohort) == row["logos_churned"]
        if scope_type == "company":
            assert total([m for m in behind if m["movement"] == "new"], "ending_arr") == Decimal(row["new_arr"])
        else:
            assert cohort == behind  # only the company's bridge lists new and reactivated accounts
        rows += 1
    assert rows >= 2


@pytest.mark.django_db
def test_movement_scope_parameters_are_checked(world):  # noqa: F811
    client = token_client(world["admin"])
    assert client.get("/api/v1/movements/", {"scope_type": "team", "scope_key": "CS East"}).json() == {
        "role": ["Give role (csm or am) with scope_type=team."]
    }
    assert client.get("/api/v1/movements/", {"scope_key": "CS East"}).json() == {"scope_key": ["Give scope_type with scope_key."]}
    assert client.get("/api/v1/movements/", {"scope_type": "segment"}).json() == {"scope_key": ["Give scope_key with scope_type=segment."]}
    none = client.get("/api/v1/movements/", {"scope_type": "owner", "scope_key": "ghost@example.com", "role": "am"})
    assert none.status_code == 200 and none.json()["count"] == 0


@pytest.mark.django_db
def test_pareto_and_coverage_of_the_callers_cases(world):  # noqa: F811
    ChurnCase.objects.filter(pk=world["beta_case"].pk).update(primary_reason=ChurnReason.objects.get(code="competitor"))
    admin = token_client(world["admin"])
    rows = admin.get("/api/v1/pareto/").json()["results"]
    assert [(r["label"], r["count"], r["lost_arr"], r["share"], r["cumulative_share"]) for r in rows] == [
        ("Moved to a competitor", 1, "4500.00", "0.8182", "0.8182"),
        ("no reason recorded", 1, "1000.00", "0.1818", "1.0000"),
    ]
    by_count = admin.get("/api/v1/pareto/", {"order_by": "count"}).json()["results"]
    assert [r["share"] for r in by_count] == ["0.5000", "0.5000"]
    assert admin.get("/api/v1/pareto/coverage/").json() == {
        "covered_arr": "4500.00", "total_arr": "5500.00", "covered_count": 1, "total_count": 2, "share": "0.8182"
    }  # fmt: skip
    assert admin.get("/api/v1/pareto/", {"order_by": "size"}).json() == {"order_by": ["Use one of: lost_arr, count."]}
    # A lead's Pareto holds its team's cases only.
    lead_rows = token_client(world["lead"]).get("/api/v1/pareto/").json()["results"]
    assert [(r["label"], r["count"]) for r in lead_rows] == [("no reason recorded", 1)]
    in_may = admin.get("/api/v1/pareto/coverage/", {"from": "2026-05-01", "to": "2026-05-31"}).json()
    assert (in_may["total_arr"], in_may["share"]) == ("4500.00", "1.0000")


@pytest.mark.django_db
def test_csv_cells_a_spreadsheet_would_run_are_neutralised(world):  # noqa: F811
    ChurnCase.objects.filter(pk=world["acme_case"].pk).update(notes="+cmd|' /C calc'!A0")
    ChurnCase.objects.filter(pk=world["beta_case"].pk).update(notes="@SUM(1+1)")
    client = token_client(world["admin"])
    customers = {r["external_id"]: r["name"] for r in csv_rows(client.get("/api/v1/customers/", {"format": "csv"}))}
    assert customers["C3"] == "'=Gamma"
    assert client.get(f"/api/v1/customers/{world['gamma'].pk}/").json()["name"] == "=Gamma"  # JSON keeps the data
    notes = sorted(r["notes"] for r in csv_rows(client.get("/api/v1/churn-cases/", {"format": "csv"})))
    assert notes == ["'+cmd|' /C calc'!A0", "'@SUM(1+1)"]
    assert [csv_cell(v) for v in ["-12.50", "-2+3", "\t=1", "plain", None, True, 7]] == [
        "-12.50", "'-2+3", "'\t=1", "plain", "", "true", "7"
    ]  # fmt: skip


def add_movement_copies(count: int, first_day: date) -> None:
    """Copies of one movement row, each in its own made-up period, to make a long export."""
    template = AccountMovement.objects.filter(product="").values().first()
    del template["id"]
    AccountMovement.objects.bulk_create(
        (AccountMovement(**{**template, "period_start": first_day + timedelta(days=n)}) for n in range(count)),
        batch_size=5000,
    )


def stream_movements_csv(client) -> tuple[int, int]:
    """(CSV lines, peak Python memory while streaming) of the full movements export."""
    response = client.get("/api/v1/movements/", {"format": "csv"})
    tracemalloc.start()
    lines = sum(chunk.count(b"\r\n") for chunk in response.streaming_content)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return lines, peak


@pytest.mark.django_db
def test_csv_export_streams_lazily_with_flat_memory(world):  # noqa: F811
    client = token_client(world["admin"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/movements/", {"format": "csv"})
    assert isinstance(response, StreamingHttpResponse)
    assert not [q for q in queries if "metrics_accountmovement" in q["sql"]], "no movement row is read before streaming"
    assert b"".join(response.streaming_content).count(b"\r\n") == AccountMovement.objects.count() + 1

    add_movement_copies(6_000, date(1900, 1, 1))
    small_lines, small_peak = stream_movements_csv(client)
    add_movement_copies(18_000, date(1950, 1, 1))
    large_lines, large_peak = stream_movements_csv(client)
    assert (small_lines, large_lines) == (AccountMovement.objects.count() - 18_000 + 1, AccountMovement.objects.count() + 1)
    # Four times the rows, about the same memory: rows are fetched and written a chunk at a time.
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)


MALFORMED = [
    ("/api/v1/retention/?from=2026-02-30", 400),
    ("/api/v1/retention/?to=yesterday", 400),
    ("/api/v1/retention/?granularity=week", 400),
    ("/api/v1/retention/?scope_key=%00", 400),
    ("/api/v1/retention/?partial=maybe", 400),
    ("/api/v1/retention/?page=0", 404),
    ("/api/v1/retention/?page=abc", 404),
    ("/api/v1/retention/?page_size=-1&ordering=nope,-", 200),  # unknown orderings and sizes fall back
    ("/api/v1/retention/?format=xml", 404),
    ("/api/v1/movements/?period_start=2026-01-32", 400),
    ("/api/v1/movements/?movement=gone", 400),
    ("/api/v1/movements/?scope_type=owner&scope_key=%00&role=csm", 400),
    ("/api/v1/churn-cases/?no_reason=perhaps", 400),
    ("/api/v1/churn-cases/?void=2", 400),
    ("/api/v1/contract-lines/?active_on=2026-02-29", 400),
    ("/api/v1/customers/99999999999999999999999/", 404),
    ("/api/v1/customers/-1/", 404),
    ("/api/v1/customers/abc/", 404),
    ("/api/v1/pareto/?from=2026-13-01", 400),
    ("/api/v1/pareto/coverage/?to=x", 400),
    ("/api/v1/users/?is_active=x&role=king", 400),
]


@pytest.mark.parametrize("url, status", MALFORMED, ids=[url for url, _ in MALFORMED])
def test_malformed_requests_are_client_errors_never_500(world, url, status):  # noqa: F811
    response = token_client(world["admin"]).get(url)
    assert response.status_code == status, (url, response.status_code)
    if status == 400:
        assert response.json(), "a 400 says which parameter and why"


@pytest.mark.django_db
def test_malformed_dates_say_what_is_expected(world):  # noqa: F811
    response = token_client(world["admin"]).get("/api/v1/retention/", {"from": "2026-02-30", "to": "tomorrow"})
    assert response.status_code == 400
    assert response.json() == {"from": ["Enter a valid date as YYYY-MM-DD."], "to": ["Enter a valid date as YYYY-MM-DD."]}


@pytest.mark.django_db
def test_pages_and_ordering(world):  # noqa: F811
    client = token_client(world["admin"])
    first = client.get("/api/v1/movements/", {"page_size": 10}).json()
    assert len(first["results"]) == 10 and first["count"] == AccountMovement.objects.count()
    second = client.get(first["next"]).json()
    assert second["results"][0] != first["results"][0]
    assert len(client.get("/api/v1/movements/", {"page_size": 500}).json()["results"]) == first["count"]
    biggest = client.get("/api/v1/churn-cases/", {"ordering": "-lost_arr"}).json()["results"]
    assert [c["lost_arr"] for c in biggest] == ["4500.00", "1000.00"]
    smallest = client.get("/api/v1/churn-cases/", {"ordering": "lost_arr", "format": "csv"})
    assert [c["lost_arr"] for c in csv_rows(smallest)] == ["1000.00", "4500.00"]  # CSV follows the same ordering
