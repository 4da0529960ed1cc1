"""People and teams pages (admins)."""

from collections import Counter

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from accounts.models import Team, TeamMembership, User
from metrics.models import Assignment

from .access import admin_required
from .people import TeamForm, TeamMoveForm, UserCreateForm, UserEditForm, move_to_team

PAGE_SIZE = 100


def current_teams(user_ids, day) -> dict[int, str]:
    rows = TeamMembership.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=day), user_id__in=user_ids, start_date__lte=day
    ).values_list("user_id", "team__name")
    return dict(rows)


@admin_required
def people(request, vis):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        messages.success(
            request,
            f"{user.email} was created."
            + ("" if user.has_usable_password() else " They cannot sign in until given a password."),
        )
        return redirect("operations:person", user.pk)
    q = request.GET.get("q", "").strip()
    users = User.objects.order_by("email")
    if q:
        users = users.filter(Q(email__icontains=q) | Q(full_name__icontains=q))
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    teams = current_teams([u.pk for u in page], timezone.localdate())
    rows = [{"user": u, "team": teams.get(u.pk, "")} for u in page]
    return render(request, "operations/people.html", {"form": form, "page": page, "rows": rows, "q": q})


@admin_required
def person(request, vis, pk: int):
    user = get_object_or_404(User, pk=pk)
    edit = UserEditForm(instance=user, editor=request.user, prefix="edit")
    move = TeamMoveForm(prefix="move")
    if request.method == "POST" and "edit-role" in request.POST:
        edit = UserEditForm(request.POST, instance=user, editor=request.user, prefix="edit")
        if edit.is_valid():
            edit.save()
            messages.success(
                request,
                f"{user.email} saved." + ("" if user.is_active else " Deactivated: they can no longer sign in."),
            )
            return redirect("operations:person", user.pk)
    elif request.method == "POST":
        move = TeamMoveForm(request.POST, prefix="move")
        if move.is_valid():
            team, day = move.cleaned_data["team"], move.cleaned_data["start_date"]
            if move_to_team(user, team, day):
                messages.success(
                    request, f"{user.email} is in {team.name} from {day}. The figures are being recomputed."
                )
            else:
                messages.info(request, f"{user.email} is already in {team.name} on {day}.")
            return redirect("operations:person", user.pk)
    memberships = TeamMembership.objects.filter(user=user).select_related("team").order_by("-start_date")
    book = Assignment.objects.filter(user=user).select_related("customer").order_by("-start_date")[:200]
    return render(
        request,
        "operations/person.html",
        {
            "person": user,
            "edit": edit,
            "move": move,
            "memberships": memberships,
            "book": book,
        },
    )


@admin_required
def teams(request, vis):
    form = TeamForm(request.POST or None, prefix="new")
    if request.method == "POST" and form.is_valid():
        team = form.save()
        messages.success(request, f"Team {team.name} was created.")
        return redirect("operations:teams")
    today = timezone.localdate()
    team_rows = list(Team.objects.select_related("lead").order_by("name"))
    members = Counter(
        TeamMembership.objects.filter(
            Q(end_date__isnull=True) | Q(end_date__gte=today), start_date__lte=today
        ).values_list("team_id", flat=True)
    )
    rows = [{"team": t, "members": members.get(t.pk, 0)} for t in team_rows]
    return render(request, "operations/teams.html", {"form": form, "rows": rows})


@admin_required
def team_edit(request, vis, pk: int):
    team = get_object_or_404(Team, pk=pk)
    before = team.name
    form = TeamForm(request.POST or None, instance=team)
    if request.method == "POST" and form.is_valid():
        form.save()
        renamed = f" (renamed from {before}; the figures are being recomputed)" if before != team.name else ""
        messages.success(request, f"Team {team.name} saved{renamed}.")
        return redirect("operations:teams")
    today = timezone.localdate()
    members = TeamMembership.objects.filter(team=team).select_related("user").order_by("-start_date")
    return render(
        request, "operations/team_edit.html", {"team": team, "form": form, "members": members, "today": today}
    )
