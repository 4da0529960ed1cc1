"""Reason pages through the Django test client: who may do what, validation, history, Pareto."""

from decimal import Decimal

import pytest
from django.urls import reverse

from metrics.models import ChurnCase, ChurnReason
from metrics.pareto import pareto_rows, reason_coverage
from metrics.reasons import ReasonForm
from tests.reasons_data import build_world

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def login(client):
    def as_user(user):
        client.force_login(user, backend=MODEL_BACKEND)
        return client

    return as_user


def queue_customers(response):
    return [case.customer.name for case in response.context["page"].object_list]


def case_url(case):
    return reverse("reasons:case", args=[case.pk])


def post_reasons(client, case, **fields):
    data = {"primary_reason": "", "secondary_reason_1": "", "secondary_reason_2": "", "notes": ""}
    data.update(fields)
    return client.post(case_url(case), data)


def reason_state(case):
    case.refresh_from_db()
    return (
        case.primary_reason_id,
        case.secondary_reason_1_id,
        case.secondary_reason_2_id,
        case.notes,
        case.recorded_by_id,
        case.history.count(),
    )


# --- the queue ------------------------------------------------------------------------------


def test_admin_queue_lists_every_unrecorded_case_newest_first_with_coverage(world, login):
    response = login(world.users["admin"]).get(reverse("reasons:queue"))
    assert response.status_code == 200
    # Crux has a reason, the void Acme case does not count: Bolt (May), Dyn (April), Acme (March).
    assert queue_customers(response) == ["Bolt", "Dyn", "Acme"]
    coverage = response.context["coverage"]["figures"]
    assert (coverage.covered_arr, coverage.total_arr) == (Decimal("2500.00"), Decimal("13000.00"))
    html = response.content.decode()
    assert "19.2%" in html  # 2,500 / 13,000
    assert "Cora East" in html and "CS East" in html and "$5,000" in html and "Contraction" in html


def test_lead_queue_holds_only_its_teams_cases(world, login):
    response = login(world.users["lead_east"]).get(reverse("reasons:queue"))
    assert response.status_code == 200
    assert queue_customers(response) == ["Bolt", "Acme"]
    assert "27.8%" in response.content.decode()  # 2,500 / 9,000


@pytest.mark.parametrize("who", ["exec", "csm_east"])
def test_executives_and_members_cannot_open_the_queue(world, login, who):
    assert login(world.users[who]).get(reverse("reasons:queue")).status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(world, client):
    for name in ("reasons:queue", "reasons:pareto", "reasons:taxonomy"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- recording ------------------------------------------------------------------------------


def test_lead_records_reasons_and_the_edit_is_kept_with_who_and_when(world, login):
    client = login(world.users["lead_east"])
    case = world.cases["acme"]
    response = post_reasons(
        client,
        case,
        primary_reason="competitor",
        secondary_reason_1="cost",
        notes="Went to a cheaper rival.",
        next=reverse("reasons:queue"),
    )
    assert response.status_code == 302 and response["Location"] == reverse("reasons:queue")
    case.refresh_from_db()
    assert case.primary_reason.code == "competitor"
    assert case.secondary_reason_1.code == "cost" and case.secondary_reason_2 is None
    assert case.notes == "Went to a cheaper rival."
    assert case.recorded_by == world.users["lead_east"] and case.recorded_at is not None
    latest = case.history.latest()
    assert latest.history_user == world.users["lead_east"] and latest.primary_reason_id == case.primary_reason_id

    queue = client.get(reverse("reasons:queue"))
    assert queue_customers(queue) == ["Bolt"]
    assert queue.context["coverage"]["figures"].share == Decimal("0.8333")  # (2,500 + 5,000) / 9,000


def test_every_edit_is_shown_on_the_case_page(world, login):
    case = world.cases["bolt"]
    post_reasons(login(world.users["lead_east"]), case, primary_reason="cost", notes="first take")
    client = login(world.users["admin"])
    post_reasons(client, case, primary_reason="features", secondary_reason_1="cost", notes="after the exit call")
    assert case.history.count() == 3  # created + two edits
    page = client.get(case_url(case))
    history = list(page.context["history"])
    assert [
        (h.history_user.email if h.history_user else None, h.primary_reason.code if h.primary_reason else None)
        for h in history
    ] == [("admin@ex.test", "features"), ("lead-east@ex.test", "cost"), (None, None)]
    html = page.content.decode()
    assert "Lena East" in html and "Ada Admin" in html and "first take" in html and "after the exit call" in html


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"secondary_reason_1": "cost"}, "primary_reason", "Choose a primary reason."),
        (
            {"primary_reason": "cost", "secondary_reason_1": "cost"},
            "secondary_reason_1",
            "“Cost” is already the primary reason: a reason can be given only once per case.",
        ),
        (
            {"primary_reason": "cost", "secondary_reason_1": "fit", "secondary_reason_2": "cost"},
            "secondary_reason_2",
            "“Cost” is already the primary reason: a reason can be given only once per case.",
        ),
        (
            {"primary_reason": "cost", "secondary_reason_2": "fit"},
            "secondary_reason_2",
            "Give the first secondary reason before the second.",
        ),
        (
            {"primary_reason": "no-such-reason"},
            "primary_reason",
            "That reason is not offered: it is unknown or no longer active.",
        ),
    ],
)
def test_invalid_reasons_are_refused_with_a_message_and_nothing_is_saved(world, login, fields, field, message):
    case = world.cases["acme"]
    before = reason_state(case)
    response = post_reasons(login(world.users["admin"]), case, notes="should not land", **fields)
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert message in response.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert reason_state(case) == before


def test_inactive_reasons_are_not_offered_but_a_case_keeps_the_one_it_has(world, login):
    ChurnReason.objects.filter(code="cost").update(active=False)
    client = login(world.users["admin"])
    # Crux already has Cost: its form still offers it and a notes edit keeps it.
    crux = world.cases["crux"]
    form = client.get(case_url(crux)).context["form"]
    assert "cost" in [r.code for r in form.fields["primary_reason"].queryset]
    assert post_reasons(client, crux, primary_reason="cost", notes="kept").status_code == 302
    crux.refresh_from_db()
    assert crux.primary_reason.code == "cost" and crux.notes == "kept"
    # Acme never had it: not offered, and refused if posted anyway.
    acme = world.cases["acme"]
    offered = [r.code for r in client.get(case_url(acme)).context["form"].fields["primary_reason"].queryset]
    assert "cost" not in offered and "fit" in offered
    response = post_reasons(client, acme, primary_reason="cost")
    assert response.context["form"].errors["primary_reason"] == [
        "That reason is not offered: it is unknown or no longer active."
    ]


def test_the_form_validates_the_same_way_outside_a_page(world):
    form = ReasonForm({"primary_reason": "fit", "secondary_reason_1": "fit"}, case=world.cases["dyn"])
    assert not form.is_valid()
    assert form.errors["secondary_reason_1"] == [
        "“Poor fit” is already the primary reason: a reason can be given only once per case."
    ]
    with pytest.raises(ValueError, match="needs a valid form"):
        form.save(world.users["admin"])
    assert ChurnCase.objects.get(pk=world.cases["dyn"].pk).primary_reason is None


def test_lead_cannot_open_or_record_another_teams_case(world, login):
    client = login(world.users["lead_east"])
    dyn = world.cases["dyn"]
    before = reason_state(dyn)
    assert client.get(case_url(dyn)).status_code == 404
    assert post_reasons(client, dyn, primary_reason="cost").status_code == 404
    assert reason_state(dyn) == before


@pytest.mark.parametrize("who", ["exec", "csm_east"])
def test_executives_and_members_see_a_case_but_cannot_record(world, login, who):
    client = login(world.users[who])
    acme = world.cases["acme"]
    before = reason_state(acme)
    page = client.get(case_url(acme))
    assert page.status_code == 200 and page.context["form"] is None
    assert b"Save reasons" not in page.content
    assert post_reasons(client, acme, primary_reason="cost").status_code == 403
    assert reason_state(acme) == before


def test_member_cannot_open_another_owners_case(world, login):
    assert login(world.users["csm_east"]).get(case_url(world.cases["dyn"])).status_code == 404


# --- Pareto ---------------------------------------------------------------------------------


def pareto_table(response):
    return [
        (row.label, row.count, row.lost_arr, row.share, row.cumulative_share) for row, _ in response.context["rows"]
    ]


def test_pareto_of_the_company_by_lost_arr(world, login):
    response = login(world.users["exec"]).get(reverse("reasons:pareto"))
    assert response.status_code == 200
    # 13,000 lost: no reason 10,500 (80.77%), Cost 2,500 (19.23%).
    assert pareto_table(response) == [
        ("no reason recorded", 3, Decimal("10500.00"), Decimal("0.8077"), Decimal("0.8077")),
        ("Cost", 1, Decimal("2500.00"), Decimal("0.1923"), Decimal("1.0000")),
    ]
    html = response.content.decode()
    assert 'id="pareto-chart"' in html and "vendor/chartjs/chart.umd.min.js" in html
    assert "19.2%" in html  # coverage
    assert response.context["chart"]["values"] == ["10500.00", "2500.00"]


def test_pareto_by_count_with_filters(world, login):
    client = login(world.users["admin"])
    ChurnCase.objects.filter(pk=world.cases["acme"].pk).update(primary_reason=ChurnReason.objects.get(code="fit"))
    response = client.get(reverse("reasons:pareto"), {"order": "count", "segment": "SMB"})
    # SMB: Bolt (1,500, none) and Dyn (4,000, none); Poor fit (Acme) and Cost (Crux) are other segments.
    assert pareto_table(response) == [
        ("no reason recorded", 2, Decimal("5500.00"), Decimal("1.0000"), Decimal("1.0000"))
    ]
    response = client.get(
        reverse("reasons:pareto"),
        {"order": "count", "date_from": "2026-03-01", "date_to": "2026-05-31", "team": world.teams["east"].pk},
    )
    # East, March to May: Acme (5,000, Poor fit), Bolt (1,500, none); by count a tie, ordered by label.
    assert pareto_table(response) == [
        ("no reason recorded", 1, Decimal("1500.00"), Decimal("0.5000"), Decimal("0.5000")),
        ("Poor fit", 1, Decimal("5000.00"), Decimal("0.5000"), Decimal("1.0000")),
    ]
    unknown = client.get(
        reverse("reasons:pareto"), {"segment": "unknown", "owner": world.users["csm_east"].pk, "role": "csm"}
    )
    assert pareto_table(unknown) == [
        ("Cost", 1, Decimal("2500.00"), Decimal("1.0000"), Decimal("1.0000")),
        ("no reason recorded", 0, Decimal("0"), Decimal("0.0000"), Decimal("1.0000")),
    ]


def test_pareto_refuses_a_backwards_date_range(world, login):
    response = login(world.users["admin"]).get(
        reverse("reasons:pareto"), {"date_from": "2026-06-01", "date_to": "2026-01-01"}
    )
    assert response.context["form"].errors["date_to"] == ["The end date is before the start date."]
    assert "The end date is before the start date." in response.content.decode()


def test_lead_pareto_holds_only_its_teams_cases_and_offers_only_its_team(world, login):
    response = login(world.users["lead_east"]).get(reverse("reasons:pareto"))
    assert pareto_table(response) == [
        ("no reason recorded", 2, Decimal("6500.00"), Decimal("0.7222"), Decimal("0.7222")),
        ("Cost", 1, Decimal("2500.00"), Decimal("0.2778"), Decimal("1.0000")),
    ]
    assert list(response.context["form"].fields["team"].queryset) == [world.teams["east"]]
    other_team = login(world.users["lead_east"]).get(reverse("reasons:pareto"), {"team": world.teams["west"].pk})
    assert "team" in other_team.context["form"].errors


def test_each_pareto_row_links_to_the_accounts_behind_it(world, login):
    client = login(world.users["admin"])
    response = client.get(reverse("reasons:pareto"), {"team": world.teams["east"].pk})
    links = {row.label: link for row, link in response.context["rows"]}
    unrecorded = client.get(links["no reason recorded"])
    assert [c.customer.name for c in unrecorded.context["page"].object_list] == ["Bolt", "Acme"]
    assert unrecorded.context["totals"] == {"count": 2, "lost": Decimal("6500.00")}
    cost = client.get(links["Cost"])
    assert [c.customer.name for c in cost.context["page"].object_list] == ["Crux"]
    assert f'href="{links["Cost"]}"'.replace("&", "&amp;") in response.content.decode()


def test_case_list_is_scoped_like_the_pareto(world, login):
    response = login(world.users["csm_west"]).get(reverse("reasons:cases"))
    assert [c.customer.name for c in response.context["page"].object_list] == ["Dyn"]


def test_pareto_rows_is_one_aggregate_query(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = pareto_rows(ChurnCase.objects.all())
    assert [(r.label, r.lost_arr) for r in rows] == [
        ("no reason recorded", Decimal("10500.00")),
        ("Cost", Decimal("2500.00")),
    ]
    assert reason_coverage(ChurnCase.objects.filter(csm_team=world.teams["west"])).share == Decimal("0.0000")


# --- taxonomy -------------------------------------------------------------------------------


def test_admin_manages_the_taxonomy(world, login):
    client = login(world.users["admin"])
    listing = client.get(reverse("reasons:taxonomy"))
    assert listing.status_code == 200 and "Moved to a competitor" in listing.content.decode()

    response = client.post(
        reverse("reasons:taxonomy_add"),
        {"code": "onboarding", "label": "Failed onboarding", "category": "support", "active": "on"},
    )
    assert response.status_code == 302
    reason = ChurnReason.objects.get(code="onboarding")
    assert (reason.label, reason.category, reason.active) == ("Failed onboarding", "support", True)

    duplicate = client.post(
        reverse("reasons:taxonomy_add"), {"code": "onboarding", "label": "Other name", "category": "fit"}
    )
    assert duplicate.context["form"].errors["code"] == ["Another reason already has this code."]
    same_label = client.post(
        reverse("reasons:taxonomy_add"), {"code": "onb2", "label": "failed onboarding", "category": "fit"}
    )
    assert "label" in same_label.context["form"].errors
    assert ChurnReason.objects.filter(code__in=["onb2"]).count() == 0

    edit = client.post(
        reverse("reasons:taxonomy_edit", args=[reason.pk]),
        {"code": "changed", "label": "Onboarding never finished", "category": "fit", "active": "on"},
    )
    assert edit.status_code == 302
    reason.refresh_from_db()
    assert (reason.code, reason.label, reason.category) == ("onboarding", "Onboarding never finished", "fit")

    assert client.post(reverse("reasons:taxonomy_toggle", args=[reason.pk])).status_code == 302
    reason.refresh_from_db()
    assert reason.active is False
    offered = client.get(case_url(world.cases["acme"])).context["form"].fields["primary_reason"].queryset
    assert "onboarding" not in [r.code for r in offered]


@pytest.mark.parametrize("who", ["exec", "lead_east", "csm_east"])
def test_only_admins_manage_the_taxonomy(world, login, who):
    client = login(world.users[who])
    cost = ChurnReason.objects.get(code="cost")
    assert client.get(reverse("reasons:taxonomy")).status_code == 403
    assert (
        client.post(reverse("reasons:taxonomy_add"), {"code": "x", "label": "X", "category": "fit"}).status_code == 403
    )
    assert client.post(reverse("reasons:taxonomy_toggle", args=[cost.pk])).status_code == 403
    assert not ChurnReason.objects.filter(code="x").exists()
    assert ChurnReason.objects.get(code="cost").active


def test_pages_do_not_query_once_per_case(world, login):
    from datetime import date, timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from metrics.models import Customer

    client = login(world.users["admin"])
    urls = [reverse("reasons:queue"), reverse("reasons:pareto"), reverse("reasons:cases"), reverse("reasons:taxonomy")]

    def query_counts():
        counts = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            counts.append(len(queries))
        return counts

    before = query_counts()
    reasons = list(ChurnReason.objects.all())
    for i in range(20):
        customer = Customer.objects.create(external_id=f"X-{i}", name=f"Extra {i}", segment=f"S{i % 4}")
        ChurnCase.objects.create(
            customer=customer,
            date=date(2026, 1, 1) + timedelta(days=i),
            kind="churn",
            previous_arr=Decimal("100.00"),
            new_arr=Decimal("0"),
            lost_arr=Decimal("100.00"),
            csm_owner=world.users["csm_west"],
            csm_team=world.teams["west"],
            primary_reason=reasons[i % len(reasons)] if i % 2 else None,
        )
    assert query_counts() == before


def test_taxonomy_counts_match_the_case_lists_they_open(world, login):
    cost = ChurnReason.objects.get(code="cost")
    ChurnCase.objects.filter(pk=world.cases["acme_void"].pk).update(primary_reason=cost)  # void: not counted
    client = login(world.users["admin"])
    counts = {r.code: r.case_count for r in client.get(reverse("reasons:taxonomy")).context["reasons"]}
    assert counts["cost"] == 1 and counts["fit"] == 0
    listed = client.get(reverse("reasons:cases"), {"reason": "cost"})
    assert [c.customer.name for c in listed.context["page"].object_list] == ["Crux"]
