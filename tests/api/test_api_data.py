"""What the API reads: the SPEC section 5 rows and their filters, the accounts behind each row, JSON
and CSV giving the same rows, formula neutralising, streaming, and no 500 on malformed input."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from metrics.demo import build_demo
from metrics.export import RETENTION_COLUMNS, csv_cell
from metrics.models import ChurnCase, ChurnReason, RecomputeStatus, RetentionSnapshot, SnapshotLine
from tests.api_support import all_pages, csv_rows, token_client

LISTS = [
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
]
# The movements of one period: a year in which Acme contracts, Beta churns and Gamma stays.
YEAR_2026 = {"granularity": "year", "period_start": "2026-01-01"}
MOVEMENT_COLUMNS = [
    "period_start",
    "period_end",
    "granularity",
    "partial",
    "customer",
    "customer_name",
    "product",
    "starting_arr",
    "ending_arr",
    "cross_sell",
    "movement",
    "csm_owner",
    "csm_team",
    "am_owner",
    "am_team",
    "segment",
    "region",
    "industry",
    "use_case",
    "tenure_band",
]


@pytest.mark.parametrize("role", ["admin", "lead", "member"])
def test_json_and_csv_give_the_same_rows_and_columns(world, role):
    client = token_client(world[role])
    for name in LISTS:
        params = YEAR_2026 if name == "movements" else {}
        json_rows = all_pages(client, f"/api/v1/{name}/", params)
        response = client.get(f"/api/v1/{name}/", {**params, "format": "csv"})
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
def test_retention_rows_are_the_spec_columns(world):
    client = token_client(world["admin"])
    year = client.get(
        "/api/v1/retention/", {"granularity": "year", "scope_type": "company", "from": "2026-01-01"}
    ).json()
    assert year["count"] == 1
    assert year["results"][0] == {
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "granularity": "year",
        "partial": True,
        "scope_type": "company",
        "scope_key": "",
        "role": "",
        # Cohort on 2025-12-31: Acme 3000, Beta 4500, Gamma 300. Today: Acme 2000, Beta 0, Gamma 300.
        "starting_arr": "7800.00",
        "expansion": "0.00",
        "upsell": "0.00",
        "cross_sell": "0.00",
        "contraction": "1000.00",
        "churn": "4500.00",
        "ending_arr": "2300.00",
        "nrr": "0.2949",
        "grr": "0.2949",
        "logos_start": 3,
        "logos_churned": 1,
        "new_arr": "0.00",
        "reactivation_arr": "0.00",
        # SPEC section 9: a period not closed has no reported figures.
        "closed": False,
        **{c: None for c in RETENTION_COLUMNS if c.startswith("reported_")},
        "currency": "USD",
    }
    owner = client.get(
        "/api/v1/retention/",
        {
            "granularity": "year",
            "scope_type": "owner",
            "scope_key": "ann@example.com",
            "role": "csm",
            "from": "2026-01-01",
            "to": "2026-01-01",
        },
    ).json()
    assert owner["count"] == 1 and list(owner["results"][0]) == RETENTION_COLUMNS
    assert owner["results"][0]["new_arr"] is None and owner["results"][0]["reactivation_arr"] is None
    first_month = client.get("/api/v1/retention/", {"granularity": "month", "scope_type": "company"}).json()["results"][
        0
    ]
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
def test_retention_filters_select_the_matching_snapshots(world, params):
    rows = all_pages(token_client(world["executive"]), "/api/v1/retention/", params)
    lookups = {"from": "period_start__gte", "to": "period_start__lte"}
    expected = RetentionSnapshot.objects.filter(
        **{lookups.get(k, k): (v == "true" if k == "partial" else v) for k, v in params.items()}
    )
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


def test_retention_agrees_with_export_retention_row_for_row(world):
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
    ("team", "CS West", "csm"),
    ("owner", "bob@example.com", "csm"),
    ("owner", "ann@example.com", "csm"),
    ("owner", "unassigned", "csm"),
    ("team", "AM", "am"),
    ("segment", "unknown", ""),
    ("region", "NA", ""),
    ("product", "Core", ""),
    ("product", "Add-on", ""),
    ("tenure", "12-24", ""),
]
# A year of new accounts, a quarter with a cross-sell (Beta's Add-on), the TTM windows, a churn.
PERIODS = [
    ("year", "2025-01-01"),
    ("quarter", "2025-07-01"),
    ("ttm", "2025-12-01"),
    ("ttm", "2025-10-01"),
    ("year", "2026-01-01"),
    ("quarter", "2026-04-01"),
    ("month", "2026-05-01"),
    ("month", "2025-09-01"),
]


def money_total(rows, amount) -> Decimal:
    return sum(
        (
            amount({k: Decimal(v) for k, v in m.items() if k in ("starting_arr", "ending_arr", "cross_sell")})
            for m in rows
        ),
        Decimal("0.00"),
    )


@pytest.mark.parametrize(("scope_type", "scope_key", "role"), SCOPES)
def test_the_movements_behind_a_retention_row_add_up_to_it(world, scope_type, scope_key, role):
    client = token_client(world["admin"])
    checked = 0
    for granularity, period_start in PERIODS:
        scope = {"granularity": granularity, "scope_type": scope_type, "scope_key": scope_key, "role": role}
        found = client.get("/api/v1/retention/", {**scope, "from": period_start, "to": period_start}).json()["results"]
        if not found:
            continue
        row = found[0]
        behind = all_pages(client, "/api/v1/movements/", {**scope, "period_start": period_start})
        assert csv_rows(client.get("/api/v1/movements/", {**scope, "period_start": period_start, "format": "csv"})) == [
            {k: csv_cell(v) for k, v in m.items()} for m in behind
        ]  # the CSV holds the same rows
        cohort = [m for m in behind if m["movement"] not in ("new", "reactivation")]
        of = lambda *kinds, cohort=cohort: [m for m in cohort if m["movement"] in kinds]  # noqa: E731
        figures = {
            "starting_arr": money_total(cohort, lambda m: m["starting_arr"]),
            "ending_arr": money_total(cohort, lambda m: m["ending_arr"]),
            "expansion": money_total(of("expansion"), lambda m: m["ending_arr"] - m["starting_arr"]),
            "cross_sell": money_total(of("expansion"), lambda m: m["cross_sell"]),
            "upsell": money_total(of("expansion"), lambda m: m["ending_arr"] - m["starting_arr"] - m["cross_sell"]),
            "contraction": money_total(of("contraction"), lambda m: m["starting_arr"] - m["ending_arr"]),
            "churn": money_total(of("churn"), lambda m: m["starting_arr"]),
        }
        assert {k: str(v) for k, v in figures.items()} == {k: row[k] for k in figures}, (granularity, period_start)
        assert len(cohort) == row["logos_start"]
        assert len(of("churn")) == row["logos_churned"]
        assert {m["period_start"] for m in behind} <= {period_start} and {m["granularity"] for m in behind} <= {
            granularity
        }
        if scope_type == "company":
            new = [m for m in behind if m["movement"] == "new"]
            reactivated = [m for m in behind if m["movement"] == "reactivation"]
            assert money_total(new, lambda m: m["ending_arr"]) == Decimal(row["new_arr"])
            assert money_total(reactivated, lambda m: m["ending_arr"]) == Decimal(row["reactivation_arr"])
        else:
            assert cohort == behind  # only the company's bridge lists new and reactivated accounts
        if scope_type == "product":
            assert {m["product"] for m in behind} <= {scope_key}
        checked += 1
    assert checked >= 3


@pytest.mark.django_db
def test_the_rows_behind_figures_that_move(world):
    """The periods above are not all quiet: new accounts, a cross-sell, contraction and churn."""
    client = token_client(world["admin"])
    company = {"scope_type": "company"}
    year_2025 = all_pages(
        client, "/api/v1/movements/", {**company, "granularity": "year", "period_start": "2025-01-01"}
    )
    assert {(m["customer"], m["movement"]) for m in year_2025} == {("C1", "new"), ("C2", "new"), ("C3", "new")}
    september = all_pages(
        client, "/api/v1/movements/", {**company, "granularity": "month", "period_start": "2025-09-01"}
    )
    assert [(m["customer"], m["movement"], m["cross_sell"]) for m in september if m["movement"] != "none"] == [
        ("C2", "expansion", "500.00")
    ]
    ttm = all_pages(client, "/api/v1/movements/", {**company, "granularity": "ttm", "period_start": "2025-12-01"})
    assert sorted((m["customer"], m["movement"]) for m in ttm) == [
        ("C1", "contraction"),
        ("C2", "churn"),
        ("C3", "none"),
    ]
    assert {(m["customer"], m["period_end"], m["partial"]) for m in ttm} == {
        (c, "2026-11-30", True) for c in ("C1", "C2", "C3")
    }  # measured on today, 2026-11-23
    acme = next(m for m in ttm if m["customer"] == "C1")
    assert acme == {
        "period_start": "2025-12-01",
        "period_end": "2026-11-30",
        "granularity": "ttm",
        "partial": True,
        "customer": "C1",
        "customer_name": "Acme",
        "product": "",
        "starting_arr": "3000.00",
        "ending_arr": "2000.00",
        "cross_sell": "0.00",
        "movement": "contraction",
        "csm_owner": "ann@example.com",
        "csm_team": "CS East",
        "am_owner": "amy@example.com",
        "am_team": "AM",
        "segment": "SMB",
        "region": "EMEA",
        "industry": "unknown",
        "use_case": "unknown",
        "tenure_band": "6-12",
    }
    assert list(acme) == MOVEMENT_COLUMNS
    gamma = next(m for m in ttm if m["customer"] == "C3")
    assert (gamma["csm_owner"], gamma["csm_team"], gamma["am_owner"], gamma["am_team"]) == (None, None, None, None)


@pytest.mark.django_db
def test_movement_scope_parameters_are_checked(world):
    client = token_client(world["admin"])
    get = lambda **params: client.get("/api/v1/movements/", {**YEAR_2026, **params})  # noqa: E731
    assert get(scope_type="team", scope_key="CS East").json() == {
        "role": ["Give role (csm or am) with scope_type=team."]
    }
    assert get(scope_key="CS East").json() == {"scope_key": ["Give scope_type with scope_key."]}
    assert get(scope_type="segment").json() == {"scope_key": ["Give scope_key with scope_type=segment."]}
    for unknown in (
        {"scope_type": "owner", "scope_key": "ghost@example.com", "role": "am"},
        {"scope_type": "team", "scope_key": "CS North", "role": "csm"},
        {"csm_team": "CS North"},
        {"am_owner": "ghost@example.com"},
        {"customer": "C404"},
    ):
        none = get(**unknown)
        assert none.status_code == 200 and none.json()["count"] == 0, unknown
    # A period that has not begun has no rows, like the retention rows.
    assert get(period_start="2027-01-01").json()["count"] == 0


@pytest.mark.django_db
def test_movements_need_one_period(world):
    client = token_client(world["admin"])
    for params in ({}, {"format": "csv"}):
        response = client.get("/api/v1/movements/", params)
        assert response.status_code == 400
        body = response.json() if params == {} else csv_rows(response)[0]
        assert "granularity" in body and "period_start" in body, body
    assert client.get("/api/v1/movements/", {"granularity": "year"}).json() == {
        "period_start": ["This field is required."]
    }
    assert client.get("/api/v1/movements/", {"period_start": "2026-01-01"}).json() == {
        "granularity": ["This field is required."]
    }
    bad = {
        ("week", "2026-01-01"): {"granularity": ['"week" is not a valid choice.']},
        ("month", "2026-01-32"): {"period_start": ["Enter a valid date as YYYY-MM-DD."]},
        ("month", "01/05/2026"): {"period_start": ["Enter a valid date as YYYY-MM-DD."]},
        ("month", "2026-01-15"): {"period_start": ["A period starts on the first day of a month."]},
        ("quarter", "2026-02-01"): {"period_start": ["A quarter starts on the first day of month 1, 4, 7, 10."]},
        ("year", "2026-07-01"): {"period_start": ["A year starts on the first day of month 1."]},
        ("month", "0001-01-01"): {"period_start": ["Give a period start from year 1000 to 9998."]},
    }
    for (granularity, period_start), errors in bad.items():
        response = client.get("/api/v1/movements/", {"granularity": granularity, "period_start": period_start})
        assert (response.status_code, response.json()) == (400, errors), (granularity, period_start)
    # TTM windows and months start on any month's first day.
    assert client.get("/api/v1/movements/", {"granularity": "ttm", "period_start": "2025-11-01"}).status_code == 200


@pytest.mark.django_db
def test_movement_filters(world):
    client = token_client(world["admin"])

    def customers(**params):
        return sorted({m["customer"] for m in all_pages(client, "/api/v1/movements/", {**YEAR_2026, **params})})

    assert customers() == ["C1", "C2", "C3"]
    assert customers(csm_owner="ANN@example.com") == ["C1"]  # emails ignore case
    assert customers(csm_team="CS West") == ["C2"]
    assert customers(am_team="AM") == customers(am_owner="amy@example.com") == ["C1"]
    assert customers(customer="C2") == ["C2"]
    assert customers(movement=["churn", "contraction"]) == ["C1", "C2"]
    assert customers(movement="none") == ["C3"]
    assert customers(segment="Enterprise") == ["C2"]
    assert customers(segment="unknown") == ["C3"]  # no segment
    assert customers(region="NA", industry="unknown", use_case="unknown") == ["C2", "C3"]
    assert customers(tenure_band="6-12") == ["C2", "C3"] and customers(tenure_band="12-24") == ["C1"]
    assert customers(product="Add-on") == ["C2", "C3"]
    rows = all_pages(client, "/api/v1/movements/", {**YEAR_2026, "product": "Add-on"})
    assert {m["product"] for m in rows} == {"Add-on"}
    # A product scope lists that product's rows only; another product within it lists none.
    assert customers(scope_type="product", scope_key="Core", product="Add-on") == []
    assert customers(scope_type="team", scope_key="CS East", role="csm", movement="churn") == []


@pytest.mark.django_db
def test_pareto_and_coverage_of_the_callers_cases(world):
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
        "covered_arr": "4500.00",
        "total_arr": "5500.00",
        "covered_count": 1,
        "total_count": 2,
        "share": "0.8182",
    }
    assert admin.get("/api/v1/pareto/", {"order_by": "size"}).json() == {"order_by": ["Use one of: lost_arr, count."]}
    # A lead's Pareto holds its team's cases only.
    lead_rows = token_client(world["lead"]).get("/api/v1/pareto/").json()["results"]
    assert [(r["label"], r["count"]) for r in lead_rows] == [("no reason recorded", 1)]
    in_may = admin.get("/api/v1/pareto/coverage/", {"from": "2026-05-01", "to": "2026-05-31"}).json()
    assert (in_may["total_arr"], in_may["share"]) == ("4500.00", "1.0000")


@pytest.mark.django_db
def test_csv_cells_a_spreadsheet_would_run_are_neutralised(world):
    ChurnCase.objects.filter(pk=world["acme_case"].pk).update(notes="+cmd|' /C calc'!A0")
    ChurnCase.objects.filter(pk=world["beta_case"].pk).update(notes="@SUM(1+1)")
    client = token_client(world["admin"])
    customers = {r["external_id"]: r["name"] for r in csv_rows(client.get("/api/v1/customers/", {"format": "csv"}))}
    assert customers["C3"] == "'=Gamma"
    assert client.get(f"/api/v1/customers/{world['gamma'].pk}/").json()["name"] == "=Gamma"  # JSON keeps the data
    notes = sorted(r["notes"] for r in csv_rows(client.get("/api/v1/churn-cases/", {"format": "csv"})))
    assert notes == ["'+cmd|' /C calc'!A0", "'@SUM(1+1)"]
    assert [csv_cell(v) for v in ["-12.50", "-2+3", "\t=1", "plain", None, True, 7]] == [
        "-12.50",
        "'-2+3",
        "'\t=1",
        "plain",
        "",
        "true",
        "7",
    ]


def add_accounts(count: int, first_id: int) -> None:
    """Made-up customers in the current inputs, each with one line running through 2026: two
    rows each (the customer, and its product) among the year's movements."""
    version = RecomputeStatus.objects.get().input_version
    SnapshotLine.objects.bulk_create(
        (
            SnapshotLine(
                version=version, customer_id=first_id + n, product="Core", start_date=date(2020, 1, 1), arr_cents=100
            )
            for n in range(count)
        ),
        batch_size=5000,
    )


def stream_movements_csv(client) -> tuple[int, int]:
    """(CSV lines, peak Python memory while streaming) of a whole year's movements export."""
    response = client.get("/api/v1/movements/", {**YEAR_2026, "format": "csv"})
    tracemalloc.start()
    lines = sum(chunk.count(b"\r\n") for chunk in response.streaming_content)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return lines, peak


@pytest.mark.django_db
def test_csv_export_streams_lazily_with_flat_memory(world):
    client = token_client(world["admin"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/movements/", {**YEAR_2026, "format": "csv"})
    assert isinstance(response, StreamingHttpResponse)
    assert not [q for q in queries if "metrics_snapshotline" in q["sql"]], "no account row is read before streaming"
    count = client.get("/api/v1/movements/", YEAR_2026).json()["count"]
    assert b"".join(response.streaming_content).count(b"\r\n") == count + 1 == 8

    add_accounts(3_000, 10_000_000)
    small_lines, small_peak = stream_movements_csv(client)
    add_accounts(9_000, 20_000_000)
    large_lines, large_peak = stream_movements_csv(client)
    assert (small_lines, large_lines) == (count + 6_000 + 1, count + 24_000 + 1)
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
    ("/api/v1/movements/", 400),
    ("/api/v1/movements/?granularity=month&period_start=2026-01-32", 400),
    ("/api/v1/movements/?granularity=month&period_start=9999-12-01", 400),
    ("/api/v1/movements/?granularity=month&period_start=2026-01-01&movement=gone", 400),
    ("/api/v1/movements/?granularity=month&period_start=2026-01-01&ordering=customer__name", 400),
    ("/api/v1/movements/?granularity=month&period_start=2026-01-01&scope_type=owner&scope_key=%00&role=csm", 400),
    ("/api/v1/movements/?granularity=month&period_start=2026-01-01&page=9", 404),
    ("/api/v1/movements/?granularity=month&period_start=2026-01-01&page_size=-1", 200),
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


@pytest.mark.parametrize(("url", "status"), MALFORMED, ids=[url for url, _ in MALFORMED])
def test_malformed_requests_are_client_errors_never_500(world, url, status):
    response = token_client(world["admin"]).get(url)
    assert response.status_code == status, (url, response.status_code)
    if status == 400:
        assert response.json(), "a 400 says which parameter and why"


@pytest.mark.django_db
def test_malformed_dates_say_what_is_expected(world):
    response = token_client(world["admin"]).get("/api/v1/retention/", {"from": "2026-02-30", "to": "tomorrow"})
    assert response.status_code == 400
    assert response.json() == {
        "from": ["Enter a valid date as YYYY-MM-DD."],
        "to": ["Enter a valid date as YYYY-MM-DD."],
    }


@pytest.mark.django_db
def test_pages_and_ordering(world):
    client = token_client(world["admin"])
    everything = all_pages(client, "/api/v1/movements/", YEAR_2026)
    # Acme, Beta and Gamma, and their products (Acme Core, Beta Core and Add-on, Gamma Add-on).
    assert len(everything) == 7
    first = client.get("/api/v1/movements/", {**YEAR_2026, "page_size": 3}).json()
    assert len(first["results"]) == 3 and first["count"] == 7 and first["previous"] is None
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    assert third["next"] is None and len(third["results"]) == 1
    assert first["results"] + second["results"] + third["results"] == everything  # by name, then customer, then product
    assert (
        client.get("/api/v1/movements/", {**YEAR_2026, "page_size": 5000}).json()["results"] == everything
    )  # at most 1000

    def order(key, **params):
        rows = all_pages(
            client, "/api/v1/movements/", {**YEAR_2026, "scope_type": "company", "ordering": key, **params}
        )
        return [m["customer"] for m in rows]

    # Starting ARR: Acme 3000, Beta 4500, Gamma 300; ending: 2000, 0, 300; change: -1000, -4500, 0.
    assert order("starting_arr") == ["C3", "C1", "C2"] and order("-starting_arr") == ["C2", "C1", "C3"]
    assert order("ending_arr") == ["C2", "C3", "C1"] and order("-ending_arr") == ["C1", "C3", "C2"]
    assert order("change") == ["C2", "C1", "C3"] and order("-change") == ["C3", "C1", "C2"]
    assert order("external_id") == ["C1", "C2", "C3"] and order("-external_id") == ["C3", "C2", "C1"]
    paged = client.get(
        "/api/v1/movements/",
        {**YEAR_2026, "scope_type": "company", "ordering": "-starting_arr", "page_size": 1, "page": 2},
    )
    assert [m["customer"] for m in paged.json()["results"]] == ["C1"]
    as_csv = csv_rows(
        client.get("/api/v1/movements/", {**YEAR_2026, "scope_type": "company", "ordering": "-change", "format": "csv"})
    )
    assert [m["customer"] for m in as_csv] == ["C3", "C1", "C2"]  # the CSV follows the same ordering
    biggest = client.get("/api/v1/churn-cases/", {"ordering": "-lost_arr"}).json()["results"]
    assert [c["lost_arr"] for c in biggest] == ["4500.00", "1000.00"]
    smallest = client.get("/api/v1/churn-cases/", {"ordering": "lost_arr", "format": "csv"})
    assert [c["lost_arr"] for c in csv_rows(smallest)] == ["1000.00", "4500.00"]  # CSV follows the same ordering
