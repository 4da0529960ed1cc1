"""Books (issue 11, point 4): the rules of moving a book and assigning an account, by hand, then
through the pages with the role rules and the recompute queued, never run."""

from datetime import date

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import TeamMembership
from metrics.models import Assignment, PendingRecompute
from operations.books import Held, New, plan_assign, plan_move
from tests.web_support import build_company

D = date(2026, 3, 1)
CASEY, JORDAN = 1, 2


def held(i, customer, start, end=None, user=CASEY, role="csm"):
    return Held(i, customer, role, user, start, end)


def test_a_move_ends_each_account_the_day_before_and_starts_the_new_owner_on_the_day():
    plan = plan_move(
        [
            held(1, 10, date(2025, 1, 1)),  # open: ends Feb 28, Jordan from Mar 1, open
            held(2, 11, date(2025, 6, 1), date(2026, 6, 30)),  # ends Feb 28, Jordan Mar 1 to Jun 30
            held(3, 12, date(2025, 1, 1), date(2026, 2, 28)),  # over before the day: stays
            held(4, 13, date(2026, 4, 1)),  # starts later: handed over whole
            held(5, 14, D),  # starts on the day: handed over whole
        ],
        JORDAN,
        D,
    )
    assert [(h.id, end) for h, end in plan.ended] == [(1, date(2026, 2, 28)), (2, date(2026, 2, 28))]
    assert plan.created == [New(10, "csm", JORDAN, D, None), New(11, "csm", JORDAN, D, date(2026, 6, 30))]
    assert [h.id for h in plan.handed_over] == [4, 5]
    assert plan.customer_ids == {10, 11, 13, 14}


def test_assigning_one_account_respects_an_assignment_already_planned_later():
    existing = [held(1, 10, date(2025, 1, 1), date(2026, 5, 31)), held(2, 10, date(2026, 6, 1), user=3)]
    plan = plan_assign(existing, 10, "csm", JORDAN, D)
    assert [(h.id, end) for h, end in plan.ended] == [(1, date(2026, 2, 28))]
    assert plan.created == [New(10, "csm", JORDAN, D, date(2026, 5, 31))]
    assert not plan_assign(existing, 10, "csm", CASEY, D)  # already Casey's that day
    assert plan_assign([], 10, "csm", JORDAN, D).created == [New(10, "csm", JORDAN, D, None)]
    on_day = plan_assign([held(1, 10, D)], 10, "csm", JORDAN, D)
    assert [h.id for h in on_day.handed_over] == [1] and not on_day.created


spans = st.lists(st.tuples(st.integers(0, 400), st.one_of(st.none(), st.integers(0, 120))), max_size=6)


@given(spans, st.integers(0, 500))
def test_a_move_never_overlaps_and_keeps_every_day_covered(raw, offset):
    """Per customer: after the move, the days covered are the same, Casey holds none from D on,
    and nothing overlaps."""
    base = date(2025, 1, 1)
    day = date.fromordinal(base.toordinal() + offset)
    assignments = [
        held(
            i,
            i,
            date.fromordinal(base.toordinal() + s),
            None if n is None else date.fromordinal(base.toordinal() + s + n),
        )
        for i, (s, n) in enumerate(raw)
    ]
    plan = plan_move(assignments, JORDAN, day)
    ended = {h.id: end for h, end in plan.ended}
    handed = {h.id for h in plan.handed_over}
    for a in assignments:
        after = [(a.start, ended.get(a.id, a.end), JORDAN if a.id in handed else CASEY)]
        after += [(n.start, n.end, n.user_id) for n in plan.created if n.customer_id == a.customer_id]
        assert all(end is None or end >= start for start, end, _ in after)

        def days(spans):
            return {s.toordinal() + k for s, e, _ in spans for k in range(((e or date(2027, 12, 31)) - s).days + 1)}

        assert days(after) == days([(a.start, a.end, CASEY)])
        assert sum(len(days([span])) for span in after) == len(days(after))  # no overlap
        assert all(e is not None and e < day for s, e, who in after if who == CASEY)  # Casey's ends before D


@pytest.mark.django_db
def test_admin_moves_a_book_with_a_preview_and_the_recompute_is_queued(client):
    world = build_company()
    client.force_login(world["admin"])
    params = {"from_user": world["ann"].pk, "role": "csm", "to_user": world["cid"].pk, "start_date": "2026-03-01"}
    preview = client.get(reverse("operations:books"), params)
    assert preview.status_code == 200
    body = preview.content.decode()
    assert "2 accounts of Ann CSM go to Cid CSM (csm) from 2026-03-01" in body
    assert not PendingRecompute.objects.exists()
    expected = [str(a.pk) for a in Assignment.objects.filter(user=world["ann"], role="csm")]
    response = client.post(reverse("operations:books"), {**params, "expected": expected})
    assert response.status_code == 302
    acme = Assignment.objects.filter(customer=world["acme"], role="csm").order_by("start_date")
    assert [(a.user.email, a.start_date, a.end_date) for a in acme] == [
        ("ann@example.com", date(2025, 1, 1), date(2026, 2, 28)),
        ("cid@example.com", D, None),
    ]
    assert set(PendingRecompute.objects.values_list("customer_id", flat=True)) == {world["acme"].pk, world["beta"].pk}
    history = acme[1].history.first()
    assert history.history_user == world["admin"] and "Book move" in history.history_change_reason


@pytest.mark.django_db
def test_a_lead_moves_only_between_members_of_its_own_team(client):
    world = build_company()
    client.force_login(world["lead"])
    ok = {"from_user": world["ann"].pk, "role": "csm", "to_user": world["cid"].pk, "start_date": "2026-03-01"}
    assert "2 accounts of Ann CSM go to Cid CSM" in client.get(reverse("operations:books"), ok).content.decode()
    # Bob is in the West team: not a choice, and not accepted.
    to_west = client.get(reverse("operations:books"), {**ok, "to_user": world["bob"].pk}).content.decode()
    assert "Select a valid choice" in to_west
    # Ann left the team on Jan 31: from Mar 1 the lead may not move her accounts.
    TeamMembership.objects.filter(user=world["ann"]).update(end_date=date(2026, 1, 31))
    refused = client.get(reverse("operations:books"), ok).content.decode()
    assert "only between members of a team it leads on that day" in refused
    for user in (world["ann"], world["executive"]):
        client.force_login(user)
        assert client.get(reverse("operations:books")).status_code == 403


@pytest.mark.django_db
def test_assign_one_account_from_its_page(client):
    world = build_company()
    client.force_login(world["admin"])
    response = client.post(
        reverse("operations:assign", args=[world["zeta"].pk]),
        {"assign-role": "csm", "assign-user": world["bob"].pk, "assign-start_date": "2026-11-01"},
    )
    assert response.status_code == 302
    assert Assignment.objects.get(customer=world["zeta"]).user == world["bob"]
    assert PendingRecompute.objects.filter(customer_id=world["zeta"].pk).exists()
    # A lead cannot give another team's account away (it does not even see it: 404).
    client.force_login(world["lead"])
    response = client.post(
        reverse("operations:assign", args=[world["delta"].pk]),
        {"assign-role": "csm", "assign-user": world["ann"].pk, "assign-start_date": "2026-11-01"},
    )
    assert response.status_code == 404
