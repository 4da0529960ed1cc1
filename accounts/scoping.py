"""Role scoping: the one place that decides what a user may see and do.

Pages and the API both filter every queryset through ``Visibility.for_user(user)`` and fetch
single objects with ``get_object_or_404`` on the filtered queryset, so an id of another team's
or owner's object answers 404, never its data.

- admin, executive: everything (company, every team and owner, every slice).
- lead: the teams it leads, every user who was ever a member of them, and their books.
- member: its own book (customers it owns or owned, its owner rows, its cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.db.models import Q, QuerySet

from .models import Role, Team, TeamMembership, User


@dataclass(frozen=True)
class Visibility:
    user: User

    @classmethod
    def for_user(cls, user) -> "Visibility":
        return cls(user)

    # --- who the user is ---------------------------------------------------------------
    @property
    def sees_everything(self) -> bool:
        return self.user.is_authenticated and (self.user.is_superuser or self.user.role in (Role.ADMIN, Role.EXECUTIVE))

    @property
    def is_admin(self) -> bool:
        return self.user.is_authenticated and (self.user.is_superuser or self.user.role == Role.ADMIN)

    @cached_property
    def led_team_ids(self) -> frozenset[int]:
        if not self.user.is_authenticated:
            return frozenset()
        return frozenset(Team.objects.filter(lead=self.user).values_list("id", flat=True))

    @cached_property
    def benchmark_team_ids(self) -> frozenset[int]:
        """Teams whose totals the user may compare against: those it leads or belongs to."""
        if not self.user.is_authenticated:
            return frozenset()
        member_of = TeamMembership.objects.filter(user=self.user).values_list("team_id", flat=True)
        return self.led_team_ids | frozenset(member_of)

    @cached_property
    def owner_ids(self) -> frozenset[int] | None:
        """Users whose books are visible; None means all."""
        if self.sees_everything:
            return None
        if not self.user.is_authenticated:
            return frozenset()
        members = TeamMembership.objects.filter(team_id__in=self.led_team_ids).values_list("user_id", flat=True)
        return frozenset(members) | {self.user.pk}

    # --- what the user may do ----------------------------------------------------------
    def can_record_reason(self, case) -> bool:
        """Admins record reasons on any case; leads on cases of their teams' accounts."""
        if self.is_admin:
            return True
        if not self.led_team_ids:
            return False
        return case.csm_team_id in self.led_team_ids or case.am_team_id in self.led_team_ids

    def can_record_reasons(self) -> bool:
        """Whether the user records reasons at all: admins, and leads of at least one team."""
        return self.is_admin or bool(self.led_team_ids)

    def can_see_company(self) -> bool:
        return self.sees_everything

    # --- querysets ---------------------------------------------------------------------
    def teams(self, qs: QuerySet | None = None) -> QuerySet:
        qs = Team.objects.all() if qs is None else qs
        if self.sees_everything:
            return qs
        return qs.filter(id__in=self.led_team_ids)

    def users(self, qs: QuerySet | None = None) -> QuerySet:
        qs = User.objects.all() if qs is None else qs
        if self.owner_ids is None:
            return qs
        return qs.filter(id__in=self.owner_ids)

    def customers(self, qs: QuerySet) -> QuerySet:
        """Customers that a visible owner owns or owned in any role."""
        if self.owner_ids is None:
            return qs
        return qs.filter(assignments__user_id__in=self.owner_ids).distinct()

    def customer_related(self, qs: QuerySet, customer_field: str = "customer") -> QuerySet:
        """Rows hanging off a customer (contract lines, assignments)."""
        if self.owner_ids is None:
            return qs
        from metrics.models import Assignment

        visible = Assignment.objects.filter(user_id__in=self.owner_ids).values("customer_id")
        return qs.filter(**{f"{customer_field}_id__in": visible})

    def snapshots(self, qs: QuerySet) -> QuerySet:
        """Retention rows: leads see their teams' and members' rows; members their own rows and
        their teams' totals (to compare against, never the other members' books)."""
        if self.sees_everything:
            return qs
        team_names = Team.objects.filter(id__in=self.benchmark_team_ids).values_list("name", flat=True)
        owner_emails = User.objects.filter(id__in=self.owner_ids).values_list("email", flat=True)
        return qs.filter(
            Q(scope_type="team", scope_key__in=list(team_names))
            | Q(scope_type="owner", scope_key__in=list(owner_emails))
        )

    def movements(self, qs: QuerySet) -> QuerySet:
        """Per-account rows: attributed (on the period's first day) to a visible team or owner."""
        return self._attributed(qs)

    def cases(self, qs: QuerySet) -> QuerySet:
        """Churn cases: owned (on the day before the drop) by a visible team or owner."""
        return self._attributed(qs)

    def recordable_cases(self, qs: QuerySet) -> QuerySet:
        """The cases whose reasons the user may record: ``can_record_reason`` as a queryset filter."""
        if self.is_admin:
            return qs
        teams = self.led_team_ids
        return qs.filter(Q(csm_team_id__in=teams) | Q(am_team_id__in=teams))

    def _attributed(self, qs: QuerySet) -> QuerySet:
        if self.sees_everything:
            return qs
        teams = self.led_team_ids
        owners = self.owner_ids
        return qs.filter(
            Q(csm_team_id__in=teams) | Q(am_team_id__in=teams) | Q(csm_owner_id__in=owners) | Q(am_owner_id__in=owners)
        )
