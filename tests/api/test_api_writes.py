"""Writes through the API: admins change customers, contract lines and assignments (each change queues
a recompute); admins and leads record churn reasons. Bad input is a 400 naming the field, with the
messages of the pages and the import, and nothing is half-saved."""

from __future__ import annotations

from decimal import Decimal

import pytest

from metrics.models import Assignment, ChurnCase, ChurnReason, ContractLine, Customer, PendingRecompute
from tests.api_support import token_client


def queued_customers() -> set:
    return set(PendingRecompute.objects.values_list("customer_id", flat=True))


@pytest.mark.django_db
def test_admin_creates_and_updates_rows_and_each_change_queues_a_recompute(world):
    admin = token_client(world["admin"])
    created = admin.post("/api/v1/customers/", {"external_id": "C9", "name": "Delta", "segment": "SMB"}, format="json")
    assert created.status_code == 201, created.content
    delta = Customer.objects.get(external_id="C9")
    assert created.json() == {
        "id": delta.pk,
        "external_id": "C9",
        "name": "Delta",
        "segment": "SMB",
        "region": "",
        "industry": "",
        "use_case": "",
    }
    assert queued_customers() == {delta.pk}

    line = admin.post(
        "/api/v1/contract-lines/",
        {"external_id": "L9", "customer": "C9", "product": "Core", "start_date": "2026-12-01", "arr": "1234.5"},
        format="json",
    )
    assert line.status_code == 201, line.content
    assert line.json()["arr"] == "1234.50" and line.json()["customer"] == "C9"
    assert ContractLine.objects.get(external_id="L9").arr == Decimal("1234.50")

    owner = admin.post(
        "/api/v1/assignments/",
        {"customer": "C9", "user": "Bob@Example.com", "role": "csm", "start_date": "2026-12-01"},
        format="json",
    )
    assert owner.status_code == 201, owner.content
    assert owner.json()["user"] == "bob@example.com"

    PendingRecompute.objects.all().delete()
    moved = admin.patch(f"/api/v1/assignments/{owner.json()['id']}/", {"end_date": "2027-03-31"}, format="json")
    assert moved.status_code == 200 and moved.json()["end_date"] == "2027-03-31"
    assert Assignment.objects.get(pk=owner.json()["id"]).history.first().history_user == world["admin"]
    assert queued_customers() == {delta.pk}
    renamed = admin.put(
        f"/api/v1/customers/{world['acme'].pk}/", {"external_id": "C1", "name": "Acme Corp"}, format="json"
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Acme Corp"
    assert queued_customers() == {delta.pk, world["acme"].pk}


BAD_WRITES = [
    (
        "/api/v1/contract-lines/",
        {"external_id": "L9", "customer": "C1", "product": "Core", "start_date": "2026-12-01", "arr": "-5"},
        {"arr": ["ARR cannot be negative."]},
    ),
    (
        "/api/v1/contract-lines/",
        {
            "external_id": "L9",
            "customer": "C1",
            "product": "Core",
            "start_date": "2026-12-01",
            "end_date": "2026-11-30",
            "arr": "5",
        },
        {"end_date": ["The end date is before the start date."]},
    ),
    (
        "/api/v1/contract-lines/",
        {"external_id": "L9", "customer": "NOPE", "product": "Core", "start_date": "2026-12-01", "arr": "5"},
        {"customer": ["Unknown customer external_id 'NOPE'."]},
    ),
    (
        "/api/v1/contract-lines/",
        {"external_id": "L1", "customer": "C1", "product": "Core", "start_date": "2026-12-01", "arr": "1.234"},
        {
            "external_id": ["contract line with this external id already exists."],
            "arr": ["Ensure that there are no more than 2 decimal places."],
        },
    ),
    (
        "/api/v1/contract-lines/",
        {"external_id": "L9", "customer": "C1", "product": "Core", "start_date": "1 Dec 2026", "arr": "lots"},
        {
            "start_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."],
            "arr": ["A valid number is required."],
        },
    ),
    (
        "/api/v1/assignments/",
        {"customer": "C1", "user": "bob@example.com", "role": "csm", "start_date": "2026-12-01"},
        {"start_date": ["This csm assignment overlaps another csm assignment of the same customer."]},
    ),
    (
        "/api/v1/assignments/",
        {"customer": "C1", "user": "nobody@example.com", "role": "boss", "start_date": "2026-12-01"},
        {"user": ["Object with email=nobody@example.com does not exist."], "role": ['"boss" is not a valid choice.']},
    ),
    (
        "/api/v1/customers/",
        {"external_id": "C1", "name": ""},
        {"external_id": ["customer with this external id already exists."], "name": ["This field may not be blank."]},
    ),
]


@pytest.mark.parametrize(
    ("url", "body", "errors"), BAD_WRITES, ids=lambda v: str(v)[:40] if isinstance(v, str) else None
)
def test_bad_writes_answer_400_field_by_field_and_save_nothing(world, url, body, errors):
    before = (
        Customer.objects.count(),
        ContractLine.objects.count(),
        Assignment.objects.count(),
        PendingRecompute.objects.count(),
    )
    response = token_client(world["admin"]).post(url, body, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    after = (
        Customer.objects.count(),
        ContractLine.objects.count(),
        Assignment.objects.count(),
        PendingRecompute.objects.count(),
    )
    assert after == before


@pytest.mark.django_db
def test_a_bad_update_leaves_the_row_as_it_was(world):
    line = ContractLine.objects.get(external_id="L2")
    response = token_client(world["admin"]).patch(
        f"/api/v1/contract-lines/{line.pk}/", {"end_date": "2020-01-01"}, format="json"
    )
    assert response.status_code == 400 and response.json() == {"end_date": ["The end date is before the start date."]}
    line.refresh_from_db()
    assert line.end_date is None and not PendingRecompute.objects.exists()


@pytest.mark.parametrize(
    "body", [[1, 2], "text", {"external_id": ["C9"], "name": {"a": 1}}, {"external_id": "C\x009", "name": "x"}]
)
def test_malformed_bodies_are_400(world, body):
    response = token_client(world["admin"]).post("/api/v1/customers/", body, format="json")
    assert response.status_code == 400
    assert not Customer.objects.filter(name="x").exists()


@pytest.mark.django_db
def test_invalid_json_is_400(world):
    response = token_client(world["admin"]).generic(
        "POST", "/api/v1/customers/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]


@pytest.mark.django_db
def test_a_lead_records_reasons_on_its_teams_case_with_history(world):
    case = world["acme_case"]
    lead = token_client(world["lead"])
    response = lead.put(
        f"/api/v1/churn-cases/{case.pk}/",
        {"primary_reason": "cost", "secondary_reason_1": "competitor", "notes": "Budget cut."},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (
        body["primary_reason"],
        body["primary_category"],
        body["secondary_reason_1"],
        body["secondary_reason_2"],
    ) == ("cost", "cost", "competitor", None)
    assert body["recorded_by"] == "lena@example.com" and body["recorded_at"]
    case.refresh_from_db()
    assert case.primary_reason.code == "cost" and case.notes == "Budget cut."
    assert case.history.first().history_user == world["lead"]

    # PATCH keeps what it does not mention.
    notes_only = lead.patch(f"/api/v1/churn-cases/{case.pk}/", {"notes": "Budget cut; may return."}, format="json")
    assert notes_only.status_code == 200
    assert (notes_only.json()["primary_reason"], notes_only.json()["secondary_reason_1"]) == ("cost", "competitor")


BAD_REASONS = [
    ({"secondary_reason_1": "cost"}, {"primary_reason": ["This field is required."]}),
    ({"primary_reason": ""}, {"primary_reason": ["Choose a primary reason."]}),
    (
        {"primary_reason": "cost", "secondary_reason_1": "cost"},
        {"secondary_reason_1": ["“Cost” is already the primary reason: a reason can be given only once per case."]},
    ),
    (
        {"primary_reason": "cost", "secondary_reason_2": "fit"},
        {"secondary_reason_2": ["Give the first secondary reason before the second."]},
    ),
    (
        {"primary_reason": "made_up"},
        {"primary_reason": ["That reason is not offered: it is unknown or no longer active."]},
    ),
    (
        {"primary_reason": "retired"},
        {"primary_reason": ["That reason is not offered: it is unknown or no longer active."]},
    ),
    ({"primary_reason": ["cost"]}, {"primary_reason": ["Not a valid string."]}),
]


@pytest.mark.parametrize(("body", "errors"), BAD_REASONS)
def test_bad_reasons_are_400_with_the_pages_messages(world, body, errors):
    ChurnReason.objects.create(code="retired", label="Retired", category="other", active=False)
    case = world["acme_case"]
    response = token_client(world["admin"]).put(f"/api/v1/churn-cases/{case.pk}/", body, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    case.refresh_from_db()
    assert case.primary_reason is None and case.recorded_by is None


@pytest.mark.django_db
def test_cases_cannot_be_created_or_deleted(world):
    admin = token_client(world["admin"])
    assert admin.post("/api/v1/churn-cases/", {}, format="json").status_code == 405
    assert admin.delete(f"/api/v1/churn-cases/{world['acme_case'].pk}/").status_code == 405
    assert ChurnCase.objects.count() == 2


@pytest.mark.django_db
def test_a_key_with_a_null_character_is_a_400_not_a_500(world):
    client = token_client(world["admin"])
    response = client.post(
        "/api/v1/assignments/",
        {"customer": "C\x00X", "user": "nobody\x00@example.com", "role": "csm", "start_date": "2026-01-01"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["customer"] == ["Null characters are not allowed."]


# --- exchange rates (SPEC section 7) --------------------------------------------------------------


@pytest.mark.django_db
def test_admin_edits_exchange_rates_and_each_change_queues_a_full_recompute(world):
    from metrics.models import FxRate

    admin = token_client(world["admin"])
    created = admin.post(
        "/api/v1/fx-rates/", {"currency": "eur", "valid_from": "2026-01-01", "rate": "1.0834"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json() == {
        "id": created.json()["id"],
        "currency": "EUR",
        "valid_from": "2026-01-01",
        "rate": "1.0834",
        "reporting_currency": "USD",
    }
    assert queued_customers() == {None}
    PendingRecompute.objects.all().delete()
    changed = admin.patch(f"/api/v1/fx-rates/{created.json()['id']}/", {"rate": "1.1"}, format="json")
    assert changed.status_code == 200 and changed.json()["rate"] == "1.1"
    assert queued_customers() == {None}
    assert FxRate.history.filter(currency="EUR").count() == 2

    # Every signed-in user reads the rates (the figures they see convert with them), in JSON and CSV.
    member = token_client(world["bob"])
    listed = member.get("/api/v1/fx-rates/?currency=Eur")
    assert listed.status_code == 200 and [r["rate"] for r in listed.json()["results"]] == ["1.1"]
    csv = member.get("/api/v1/fx-rates/?format=csv")
    assert csv.status_code == 200
    assert b"".join(csv.streaming_content).decode().splitlines()[0] == "id,currency,valid_from,rate,reporting_currency"
    assert (
        member.post(
            "/api/v1/fx-rates/", {"currency": "GBP", "valid_from": "2026-01-01", "rate": "1.25"}, format="json"
        ).status_code
        == 403
    )

    # A line in EUR is accepted now that EUR has a rate; the last EUR rate cannot go while it is used.
    line = admin.post(
        "/api/v1/contract-lines/",
        {
            "external_id": "LE",
            "customer": "C1",
            "product": "Core",
            "start_date": "2026-01-01",
            "arr": "100",
            "currency": "eur",
        },
        format="json",
    )
    assert line.status_code == 201 and line.json()["currency"] == "EUR"
    refused = admin.delete(f"/api/v1/fx-rates/{created.json()['id']}/")
    assert refused.status_code == 400 and "its last rate cannot be deleted" in refused.json()["currency"][0]
    later = admin.post(
        "/api/v1/fx-rates/", {"currency": "EUR", "valid_from": "2026-06-01", "rate": "1.2"}, format="json"
    )
    assert admin.delete(f"/api/v1/fx-rates/{later.json()['id']}/").status_code == 204
    assert list(FxRate.objects.values_list("rate", flat=True)) == [Decimal("1.1")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"currency": "XYZ", "valid_from": "2026-01-01", "rate": "1.1"},
            {"currency": ["'XYZ' is not an ISO 4217 currency code"]},
        ),
        (
            {"currency": "USD", "valid_from": "2026-01-01", "rate": "1.1"},
            {"currency": ["USD is the reporting currency: its rate is 1 by definition."]},
        ),
        ({"currency": "EUR", "valid_from": "2026-01-01", "rate": "0"}, {"rate": ["the rate 0 must be above zero"]}),
        (
            {"currency": "EUR", "valid_from": "2026-01-01", "rate": "1.1234567891"},
            {"rate": ["the rate 1.1234567891 has more than 9 decimals"]},
        ),
    ],
)
def test_bad_exchange_rates_are_refused_naming_the_field(world, body, errors):
    from metrics.models import FxRate

    response = token_client(world["admin"]).post("/api/v1/fx-rates/", body, format="json")
    assert response.status_code == 400 and response.json() == errors
    assert not FxRate.objects.exists()


@pytest.mark.django_db
def test_a_contract_line_in_a_currency_without_a_rate_is_refused(world):
    admin = token_client(world["admin"])
    body = {"external_id": "LJ", "customer": "C1", "product": "Core", "start_date": "2026-01-01", "arr": "5000000"}
    refused = admin.post("/api/v1/contract-lines/", body | {"currency": "jpy"}, format="json")
    assert refused.status_code == 400
    assert "there is no exchange rate for JPY" in refused.json()["currency"][0]
    assert admin.post("/api/v1/contract-lines/", body | {"currency": "JPYY"}, format="json").status_code == 400
    assert not ContractLine.objects.filter(external_id="LJ").exists()
    plain = admin.post("/api/v1/contract-lines/", body | {"currency": ""}, format="json")
    assert plain.status_code == 201 and plain.json()["currency"] == "USD"  # empty: the reporting currency
