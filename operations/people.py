"""People and teams: creating users, their role and access, teams, and dated team moves.

A team move is the same rule as assigning an account from a day (``books.plan_assign``): the
membership held on day D ends on D - 1 (one starting on D changes team), and the new one runs
from D until the day before the next membership already recorded, or with no end. A user
belongs to one team on any given day.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from accounts.models import Role, Team, TeamMembership, User

from .books import Held, Plan, plan_assign


def plan_team_move(memberships: list[Held], user_id: int, team_id: int, day: date) -> Plan:
    """``memberships`` as Held rows whose holder (``user_id`` field) is the team."""
    return plan_assign(memberships, user_id, "", team_id, day)


def membership_rows(user: User) -> list[Held]:
    return [
        Held(m_id, user.pk, "", team_id, start, end)
        for m_id, team_id, start, end in TeamMembership.objects.filter(user=user).values_list(
            "id", "team_id", "start_date", "end_date"
        )
    ]


def move_to_team(user: User, team: Team, day: date) -> bool:
    """Record that ``user`` belongs to ``team`` from ``day``; False when it already does then.
    Saved row by row: each save queues the recompute of the member's accounts (metrics.signals)."""
    with transaction.atomic():
        list(TeamMembership.objects.select_for_update().filter(user=user))
        plan = plan_team_move(membership_rows(user), user.pk, team.pk, day)
        if not plan:
            return False
        rows = {m.pk: m for m in TeamMembership.objects.filter(user=user)}
        for held, end in plan.ended:
            rows[held.id].end_date = end
            rows[held.id].save(update_fields=["end_date"])
        for held in plan.handed_over:
            rows[held.id].team = team
            rows[held.id].save(update_fields=["team"])
        for new in plan.created:
            membership = TeamMembership(user=user, team=team, start_date=new.start, end_date=new.end)
            membership.full_clean()
            membership.save()
    return True


class UserCreateForm(forms.ModelForm):
    password = forms.CharField(
        label="First password",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Give it to the person to sign in (they change it after). Leave empty for an owner who never signs in.",
    )
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False)
    team_from = forms.DateField(
        label="In the team from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = User
        fields = ["email", "full_name", "role"]

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("A user with this email already exists.")
        return email

    def clean(self):
        data = super().clean()
        if data.get("password"):
            try:
                validate_password(
                    data["password"], User(email=data.get("email", ""), full_name=data.get("full_name", ""))
                )
            except forms.ValidationError as error:
                self.add_error("password", error)
        if data.get("team") and not data.get("team_from"):
            self.add_error("team_from", "Say from which day the user is in the team.")
        return data

    def save(self, commit=True):
        data = self.cleaned_data
        with transaction.atomic():
            user = User.objects.create_user(
                data["email"], data.get("password") or None, full_name=data["full_name"], role=data["role"]
            )
            if data.get("team"):
                move_to_team(user, data["team"], data["team_from"])
        return user


class UserEditForm(forms.ModelForm):
    is_active = forms.BooleanField(
        label="Can sign in",
        required=False,
        help_text="Untick to deactivate: the user keeps its history and its books' figures, and can no longer sign in.",
    )

    class Meta:
        model = User
        fields = ["full_name", "role", "is_active"]

    def __init__(self, *args, editor: User | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.editor = editor

    def clean(self):
        data = super().clean()
        if self.editor is not None and self.instance.pk == self.editor.pk:
            if not data.get("is_active"):
                raise forms.ValidationError("You cannot deactivate yourself.")
            if data.get("role") != Role.ADMIN and not self.editor.is_superuser:
                raise forms.ValidationError("You cannot take the admin role from yourself; ask another admin.")
        return data


class TeamMoveForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.all())
    start_date = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "function", "lead"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = User.objects.filter(is_active=True).order_by("email")
        self.fields["lead"].label_from_instance = lambda u: f"{u.display_name} ({u.email})"
