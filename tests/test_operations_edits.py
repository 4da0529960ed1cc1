"""Edits in forms (issue 11, point 5): the model's rules refuse bad values with its messages and
nothing is saved; a save queues the recompute and is kept in the history shown on the page."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from metrics.models import Assignment, ContractLine, Customer, PendingRecompute
from operations.edits import Change, diff
from tests.web_support import build_company


def history_row(page: str, text: str) -> str:
    """The row of the page's history table that holds ``text``."""
    table = page[page.index('data-testid="history"'):]
    return next(row for row in table.split("<tr>") if text in row)


def test_a_diff_lists_only_what_changed_and_every_value_of_a_creation():
    before = {"arr": Decimal("100.00"), "end_date": None, "product": "Core"}
    after = {"arr": Decimal("150.00"), "end_date": date(2026, 3, 31), "product": "Core"}
    assert diff(before, after, ["arr", "end_date", "product"]) == [
        Change("arr", "100.00", "150.00"), Change("end_date", "—", "2026-03-31")]
    assert diff(None, after, ["arr", "end_date", "product"]) == [
        Change("arr", "—", "150.00"), Change("end_date", "—", "2026-03-31"), Change("product", "—", "Core")]


def line_data(line: ContractLine, **changes) -> dict:
    data = {"external_id": line.external_id, "product": line.product, "start_date": line.start_date.isoformat(),
            "end_date": line.end_date.isoformat() if line.end_date else "", "arr": str(line.arr), "currency": line.currency}
    return {**data, **changes}


@pytest.mark.django_db
def test_a_negative_arr_is_refused_with_the_models_message_and_nothing_is_saved(client):
    world = build_company()
    client.force_login(world["admin"])
    line = ContractLine.objects.get(external_id="L1")
    url = reverse("operations:line_edit", args=[world["acme"].pk, line.pk])
    response = client.post(url, line_data(line, arr="-5", product="Changed"))
    assert response.status_code == 200
    assert "ARR cannot be negative." in response.content.decode()
    response = client.post(url, line_data(line, end_date="2024-12-31"))
    assert "The end date is before the start date." in response.content.decode()
    line.refresh_from_db()
    assert (line.arr, line.product, line.end_date) == (Decimal("12000.00"), "Core", None)
    assert not PendingRecompute.objects.exists()
    assert line.history.count() == 1  # only its creation


@pytest.mark.django_db
def test_an_overlapping_assignment_and_a_taken_crm_id_are_refused(client):
    world = build_company()
    client.force_login(world["admin"])
    acme = world["acme"]
    first = Assignment.objects.get(customer=acme, role="csm", start_date=date(2025, 1, 1))
    Assignment.objects.filter(pk=first.pk).update(end_date=date(2026, 12, 31))
    Assignment.objects.create(customer=acme, user=world["cid"], role="csm", start_date=date(2027, 1, 1))
    response = client.post(reverse("operations:assignment_edit", args=[acme.pk, first.pk]),
                           {"role": "csm", "user": world["ann"].pk, "start_date": "2025-01-01", "end_date": ""})
    assert "This csm assignment overlaps another csm assignment of the same customer." in response.content.decode()
    first.refresh_from_db()
    assert first.end_date == date(2026, 12, 31)
    response = client.post(reverse("operations:customer_edit", args=[acme.pk]),
                           {"external_id": "C2", "name": "Acme", "segment": "", "region": "", "industry": "", "use_case": ""})
    assert "Customer with this External id already exists." in response.content.decode()
    assert Customer.objects.get(pk=acme.pk).external_id == "C1"


@pytest.mark.django_db
def test_a_save_queues_the_recompute_and_the_page_shows_who_changed_what(client):
    world = build_company()
    client.force_login(world["admin"])
    acme = world["acme"]
    line = ContractLine.objects.get(external_id="L1")
    response = client.post(reverse("operations:line_edit", args=[acme.pk, line.pk]) + "?end=1",
                           line_data(line, end_date="2026-11-30", arr="12500"))
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.end_date, line.arr) == (date(2026, 11, 30), Decimal("12500.00"))
    assert set(PendingRecompute.objects.values_list("customer_id", flat=True)) == {acme.pk}

    response = client.post(reverse("operations:customer_edit", args=[acme.pk]),
                           {"external_id": "C1", "name": "Acme Corp", "segment": "Enterprise", "region": "EMEA",
                            "industry": "Retail", "use_case": "Billing"})
    assert response.status_code == 302
    response = client.post(reverse("operations:line_add", args=[acme.pk]),
                           {"external_id": "L10", "product": "Support", "start_date": "2026-12-01", "end_date": "",
                            "arr": "900", "currency": ""})
    assert response.status_code == 302 and ContractLine.objects.get(external_id="L10").customer == acme

    page = client.get(reverse("operations:customer", args=[acme.pk])).content.decode()
    assert "admin@example.com" in history_row(page, "name: Acme → Acme Corp")
    assert "use case: — → Billing" in page
    row = history_row(page, "to: — → 2026-11-30")
    assert "ARR: 12000.00 → 12500.00" in row and "admin@example.com" in row and "Line L1" in row
    assert "Line L10" in page and "Ended on the customer page" in page


@pytest.mark.django_db
def test_only_admins_edit_and_another_teams_customer_stays_hidden(client):
    world = build_company()
    acme, delta = world["acme"], world["delta"]
    line = ContractLine.objects.get(external_id="L1")
    urls = [reverse("operations:customer_edit", args=[acme.pk]), reverse("operations:line_add", args=[acme.pk]),
            reverse("operations:line_edit", args=[acme.pk, line.pk])]
    for who in ("lead", "ann", "executive"):
        client.force_login(world[who])
        for url in urls:
            assert client.get(url).status_code == 403
        page = client.get(reverse("operations:customer", args=[acme.pk]))
        if page.status_code == 200:
            assert 'data-testid="customer-edits"' not in page.content.decode()
    client.force_login(world["admin"])
    assert 'data-testid="customer-edits"' in client.get(reverse("operations:customer", args=[acme.pk])).content.decode()
    # a line of another customer through this customer's URL: 404
    other = ContractLine.objects.get(external_id="L6")
    assert client.get(reverse("operations:line_edit", args=[acme.pk, other.pk])).status_code == 404
    assert client.get(reverse("operations:line_edit", args=[delta.pk, other.pk])).status_code == 200


@pytest.mark.django_db
def test_django_admin_is_linked_for_superusers_only(client):
    world = build_company(compute=False)
    client.force_login(world["admin"])
    assert 'href="/admin/"' not in client.get(reverse("operations:customers")).content.decode()
    world["admin"].is_superuser = True
    world["admin"].is_staff = True
    world["admin"].save()
    assert 'href="/admin/"' in client.get(reverse("operations:customers")).content.decode()


@pytest.mark.django_db
def test_an_api_write_is_in_the_same_history_with_its_author(client):
    from rest_framework.test import APIClient

    from api.models import ApiToken

    world = build_company(compute=False)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(world['admin'], 'test')[1]}")
    assert api.patch(f"/api/v1/customers/{world['beta'].pk}/", {"segment": "SMB"}, format="json").status_code == 200
    client.force_login(world["admin"])
    page = client.get(reverse("operations:customer", args=[world["beta"].pk])).content.decode()
    assert "admin@example.com" in history_row(page, "segment: Enterprise → SMB")
