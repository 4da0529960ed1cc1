"""Attack probes of the hardening issue, each once a real finding: lockout tricks, hostile input."""

import os

from django.test import override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.web_support import PASSWORD


def sign_in(client, email, password, address="10.0.0.1"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address)


# --- lockout --------------------------------------------------------------------------------


def test_letter_case_and_spaces_do_not_give_fresh_guesses(client, company):
    variants = ["ann@example.com", "ANN@example.com", "Ann@Example.com", " ann@EXAMPLE.com ", "aNn@example.COM"]
    for email in variants[:-1]:
        assert sign_in(client, email, "wrong").status_code == 200  # the form again, with its error
    assert sign_in(client, variants[-1], "wrong").status_code == 429  # the fifth failure locks
    # Five failures over five spellings lock the one account: the right password with yet other
    # capitals is refused too.
    assert sign_in(client, "ANN@EXAMPLE.COM", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


@override_settings(AXES_FAILURE_LIMIT=5, AXES_EMAIL_FAILURE_LIMIT=8)
def test_many_addresses_do_not_give_unlimited_guesses(client, company):
    for attempt in range(8):
        # Four addresses, two guesses each: no address reaches its own limit of five.
        sign_in(client, "Ann@example.com", "wrong", address=f"10.0.1.{attempt % 4}")
    assert sign_in(client, "ann@example.com", PASSWORD, address="10.0.2.9").status_code == 429
    # Another person is not locked out by it.
    assert sign_in(client, "bob@example.com", PASSWORD, address="10.0.2.9").status_code == 302


def test_a_few_failures_below_the_limits_still_let_the_owner_in(client, company):
    for address in ("10.0.3.1", "10.0.3.2"):
        sign_in(client, "ann@example.com", "wrong", address=address)
    assert sign_in(client, "ANN@example.com", PASSWORD, address="10.0.3.1").status_code == 302


# --- hostile input ----------------------------------------------------------------------------

DEEP = "[" * 50_000 + "]" * 50_000


def test_a_body_nested_fifty_thousand_deep_is_a_400(company):
    from metrics.models import ChurnCase
    from tests.api_support import token_client

    api = token_client(company["admin"])
    response = api.post("/api/v1/customers/", DEEP, content_type="application/json")
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]
    case = ChurnCase.objects.first()
    response = api.patch(f"/api/v1/churn-cases/{case.pk}/", '{"notes": ' + DEEP + "}", content_type="application/json")
    assert response.status_code == 400


def test_a_nul_character_in_a_query_string_is_a_400(client, company):
    client.force_login(company["executive"])
    assert client.get("/drilldown/?scope=segment&key=%00&granularity=month&period=2026-10-01").status_code == 400
    assert client.get("/company/?slice=segment&key=a%00b").status_code == 400
    response = client.get("/api/v1/retention/?scope_key=%00")
    assert response.status_code == 400 and "NUL" in response.json()["detail"]


def test_a_nul_character_in_an_imported_cell_is_an_error_with_file_line_and_column(tmp_path, db):
    from tests.import_support import changed, rejected, write_files

    files = changed("customers.csv", "C-2,Beta", "C-2,Be\x00ta")
    message = rejected(write_files(tmp_path, files))
    assert "customers.csv, line 3, column name: contains a NUL character" in message


# --- fuzz: the pages' query strings and the import's cells -------------------------------------


FUZZ = hypothesis_settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "8")) * 5,
    derandomize=bool(os.environ.get("CI")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PARAMS = [
    "granularity",
    "period",
    "role",
    "sort",
    "slice",
    "key",
    "scope",
    "figure",
    "movement",
    "format",
    "order",
    "from",
    "to",
    "team",
    "owner",
    "status",
    "page",
]
hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "\x00",
            "2026-10-01",
            "2026-13-01",
            "month",
            "ttm",
            "csm",
            "-owner",
            "csv",
            "unassigned",
            "0",
            "99999999999999999999",
            "-1",
            "' OR 1=1 --",
            "<script>",
            "%",
            "\ud7ff",
        ]
    ),
)


@FUZZ
@given(
    path=st.sampled_from(
        ["/company/", "TEAM", "OWNER", "/drilldown/", "/reasons/", "/reasons/cases/", "/reasons/pareto/"]
    ),
    params=st.dictionaries(st.sampled_from(PARAMS), hostile_text, max_size=6),
)
def test_no_page_answers_500_to_any_query_string(client, company, path, params):
    path = {"TEAM": f"/teams/{company['east'].pk}/", "OWNER": f"/owners/{company['ann'].pk}/"}.get(path, path)
    for who in ("executive", "lead"):
        client.force_login(company[who])
        response = client.get(path, params)
        assert response.status_code < 500, (who, path, params)


CELLS = {
    "customers.csv": ["external_id", "name", "segment", "region", "industry", "use_case"],
    "contracts.csv": ["external_id", "customer_external_id", "product", "start_date", "end_date", "arr", "currency"],
}


@FUZZ
@given(
    kind=st.sampled_from(sorted(CELLS)),
    column=st.integers(0, 6),
    value=st.one_of(
        st.text(max_size=30), st.sampled_from(["\x00", "1e400", "NaN", "-0", "2024-02-30", "1,2,3", '"', "\r"])
    ),
)
def test_any_cell_imports_or_is_refused_with_file_line_and_column(tmp_path_factory, db, kind, column, value):
    import csv as csv_module
    from io import StringIO

    from django.core.management import CommandError, call_command

    from tests.import_support import BASE, write_files

    header = CELLS[kind]
    text = BASE[kind].splitlines()
    row = next(csv_module.reader([text[1]]))
    row[column % len(header)] = value
    out = StringIO()
    csv_module.writer(out, lineterminator="\n").writerow(row)
    files = {**BASE, kind: "\n".join([text[0], out.getvalue().rstrip("\n"), *text[2:]]) + "\n"}
    directory = write_files(tmp_path_factory.mktemp("fuzz"), files)
    try:
        call_command("import_data", str(directory), stdout=StringIO(), stderr=StringIO())
    except CommandError as error:
        message = str(error)
    else:
        message = ""
    assert not message or "line " in message or "nothing was saved" in message, message
