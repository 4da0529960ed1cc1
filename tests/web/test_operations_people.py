"""People and teams (issue 11, point 3): admins create users, change roles, deactivate them,
create and rename teams, record dated team moves; nobody else may."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role, Team, TeamMembership, User
from metrics.models import PendingRecompute
from operations.books import Held
from operations.people import plan_team_move
from tests.web_support import EPOCH, build_company

D = date(2026, 3, 1)


def test_a_team_move_ends_the_current_membership_the_day_before():
    plan = plan_team_move([Held(1, 7, "", 10, date(2024, 1, 1), None)], 7, 20, D)
    assert [(h.id, end) for h, end in plan.ended] == [(1, date(2026, 2, 28))]
    assert [(n.user_id, n.start, n.end) for n in plan.created] == [(20, D, None)]
    later = plan_team_move(
        [Held(1, 7, "", 10, date(2024, 1, 1), date(2026, 5, 31)), Held(2, 7, "", 30, date(2026, 6, 1), None)], 7, 20, D
    )
    assert [(n.user_id, n.start, n.end) for n in later.created] == [(20, D, date(2026, 5, 31))]
    assert not plan_team_move([Held(1, 7, "", 20, date(2024, 1, 1), None)], 7, 20, D)


@pytest.mark.django_db
def test_admin_creates_a_user_in_a_team_changes_its_role_and_deactivates_it(client: Client):
    world = build_company()
    client.force_login(world["admin"])
    response = client.post(
        reverse("operations:people"),
        {
            "email": "New.Person@Example.com",
            "full_name": "Nia New",
            "role": "member",
            "password": "a-long-first-password-9",
            "team": world["east"].pk,
            "team_from": "2026-12-01",
        },
    )
    assert response.status_code == 302
    nia = User.objects.get(email="new.person@example.com")
    assert nia.check_password("a-long-first-password-9")
    assert list(TeamMembership.objects.filter(user=nia).values_list("team__name", "start_date")) == [
        ("CS East", date(2026, 12, 1))
    ]
    again = client.post(
        reverse("operations:people"), {"email": "new.person@example.com", "full_name": "x", "role": "member"}
    )
    assert "A user with this email already exists." in again.content.decode()

    url = reverse("operations:person", args=[nia.pk])
    client.post(url, {"edit-full_name": "Nia New", "edit-role": "lead", "edit-is_active": "on"})
    nia.refresh_from_db()
    assert nia.role == Role.LEAD
    client.post(url, {"edit-full_name": "Nia New", "edit-role": "lead"})  # unticked: deactivated
    nia.refresh_from_db()
    assert not nia.is_active
    sign_in = Client().post(
        reverse("login"), {"username": "new.person@example.com", "password": "a-long-first-password-9"}
    )
    assert sign_in.status_code == 200 and not sign_in.wsgi_request.user.is_authenticated  # the form again, refused
    # An admin cannot lock itself out.
    me = client.post(
        reverse("operations:person", args=[world["admin"].pk]), {"edit-full_name": "A", "edit-role": "admin"}
    )
    assert "You cannot deactivate yourself." in me.content.decode()


@pytest.mark.django_db
def test_a_deactivated_owner_keeps_its_book_and_history(client: Client):
    world = build_company()
    client.force_login(world["admin"])
    client.post(
        reverse("operations:person", args=[world["ann"].pk]), {"edit-full_name": "Ann CSM", "edit-role": "member"}
    )
    world["ann"].refresh_from_db()
    assert not world["ann"].is_active
    assert world["ann"].assignments.count() == 2
    assert client.get(reverse("owner", args=[world["ann"].pk])).status_code == 200


@pytest.mark.django_db
def test_a_dated_team_move_queues_the_recompute_of_the_members_accounts(client: Client):
    world = build_company()
    client.force_login(world["admin"])
    client.post(
        reverse("operations:person", args=[world["ann"].pk]),
        {"move-team": world["west"].pk, "move-start_date": "2026-03-01"},
    )
    spans = list(
        TeamMembership.objects.filter(user=world["ann"])
        .order_by("start_date")
        .values_list("team__name", "start_date", "end_date")
    )
    assert spans == [("CS East", EPOCH, date(2026, 2, 28)), ("CS West", D, None)]
    assert {world["acme"].pk, world["beta"].pk} <= set(PendingRecompute.objects.values_list("customer_id", flat=True))


@pytest.mark.django_db
def test_admin_creates_and_renames_a_team_and_a_rename_queues_a_full_recompute(client: Client):
    world = build_company()
    client.force_login(world["admin"])
    client.post(
        reverse("operations:teams"),
        {"new-name": "CS North", "new-function": "customer_success", "new-lead": world["lead"].pk},
    )
    north = Team.objects.get(name="CS North")
    assert north.lead == world["lead"]
    dup = client.post(reverse("operations:teams"), {"new-name": "CS East", "new-function": "customer_success"})
    assert "Team with this Name already exists." in dup.content.decode()
    client.post(
        reverse("operations:team_edit", args=[world["east"].pk]),
        {"name": "CS Europe", "function": "customer_success", "lead": world["lead"].pk},
    )
    assert Team.objects.filter(name="CS Europe").exists()
    assert PendingRecompute.objects.filter(customer_id__isnull=True).exists()
