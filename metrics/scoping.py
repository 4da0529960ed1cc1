"""Role scoping: the one place that decides what a user may see and do.

Pages, navigation and the API (its permission classes included) ask one ``Visibility`` per
request, ``visibility(request)``; they filter every queryset through it and fetch single objects
with ``get_object_or_404`` on the filtered queryset, so an id of another team's or owner's object
answers 404, never its data.

- admin, executive: everything (company, every team and owner, every slice).
- lead: what its teams owned. The teams' rows; a member's owner rows only for the periods whose
  first day found the member in the team; the customers that were in the team's book on some day
  (an owner of either role who was a member of the team that day), their history included; the
  accounts and cases attributed to the team (on the period's first day, on the day before a drop).
  A member who moved teams is the old team's for the old days and the new team's for the new.
- member: its own book (customers it owns or owned, its owner rows, its cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, TypedDict, TypeVar

from django.db.models import Exists, Model, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import Role, Team, TeamMembership, User, overlapping_spans

from .models import Assignment
from .queries import Scope
from .vocabulary import COMPANY, OWNER, ROLES, SLICES, TEAM, UNASSIGNED


def visibility(request) -> Visibility:
    """The request's Visibility, built once (its cached sets are then shared by the view, the
    navigation and the permission checks). A new one if the request's user changed (DRF
    authenticates after the middleware has run)."""
    cached = getattr(request, "_visibility", None)
    if cached is None or cached.user is not request.user:
        cached = Visibility(request.user)
        request._visibility = cached
    return cached


if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from metrics.models import Assignment, ChurnCase, Customer, RetentionSnapshot

_M = TypeVar("_M", bound=Model)


class _CustomerIdRow(TypedDict):
    customer_id: int


@dataclass(frozen=True)
class Visibility:
    user: User | AnonymousUser

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
    def led_memberships(self) -> list[tuple[int, str, date, date | None]]:
        """(user id, email, start, end) of every membership, past or present, in a team the user leads."""
        return list(
            TeamMembership.objects.filter(team_id__in=self.led_team_ids).values_list(
                "user_id", "user__email", "start_date", "end_date"
            )
        )

    @cached_property
    def owner_ids(self) -> frozenset[int] | None:
        """Users whose owner pages open (their rows filtered as above); None means all."""
        if self.sees_everything:
            return None
        if not self.user.is_authenticated:
            return frozenset()
        return frozenset(user_id for user_id, *_ in self.led_memberships) | {self.user.pk}

    # --- what the user may do ----------------------------------------------------------
    def can_record_reason(self, case: ChurnCase) -> bool:
        """Admins record reasons on any case; leads on cases of their teams' accounts."""
        if self.is_admin:
            return True
        if not self.led_team_ids:
            return False
        return case.csm_team_id in self.led_team_ids or case.am_team_id in self.led_team_ids

    def can_record_reasons(self) -> bool:
        """Whether the user records reasons at all: admins, and leads of at least one team."""
        return self.is_admin or bool(self.led_team_ids)

    def can_mark_risk(self, customer_id: int, on: date) -> bool:
        """Risk marks (SPEC section 8): admins; an owner of the customer (either role) on that day;
        the lead of a team that one of those owners belonged to on that day."""
        if self.is_admin:
            return True
        if not self.user.is_authenticated:
            return False
        held = overlapping_spans(Assignment.objects.filter(customer_id=customer_id), on, on)
        if held.filter(user_id=self.user.pk).exists():
            return True
        if not self.led_team_ids:
            return False
        in_led_team = TeamMembership.objects.filter(user_id__in=held.values("user_id"), team_id__in=self.led_team_ids)
        return overlapping_spans(in_led_team, on, on).exists()

    def can_see_company(self) -> bool:
        return self.sees_everything

    def can_close_periods(self) -> bool:
        """Closing and reopening a period (SPEC section 9) is an admin action."""
        return self.is_admin

    def can_see_restatements(self) -> bool:
        """Closes and restatement reports name customers of every team: the company's readers."""
        return self.sees_everything

    def benchmark_team(self, team_id: int | None) -> Team | None:
        """The team whose totals an owner's page compares against, if the user may see them:
        leads, executives, admins and the team's own members."""
        if team_id is None or not (self.sees_everything or team_id in self.benchmark_team_ids):
            return None
        return Team.objects.filter(pk=team_id).first()

    def may_open_team(self, team_id: int) -> bool:
        return self.sees_everything or team_id in self.led_team_ids

    def scope(self, scope_type: str, key: str, role: str) -> Scope:
        """A scope asked for by a link (team and owner by id, slices by value), or 404 when it is
        malformed or not the user's to see."""
        if scope_type == COMPANY and self.sees_everything:
            return Scope.company()
        if scope_type in SLICES and key and self.sees_everything:
            return Scope(scope_type, key)
        if scope_type not in (TEAM, OWNER) or role not in ROLES:
            raise Http404("No such scope.")
        if key == UNASSIGNED:
            if not self.sees_everything:
                raise Http404("No such scope.")
            return Scope(scope_type, UNASSIGNED, role)
        if not key.isdigit():
            raise Http404("No such scope.")
        if scope_type == TEAM:
            return Scope.team(get_object_or_404(self.teams(), pk=int(key)), role)
        return Scope.owner(get_object_or_404(self.users(), pk=int(key)), role)

    # --- querysets ---------------------------------------------------------------------
    def teams(self, qs: QuerySet[Team] | None = None) -> QuerySet[Team]:
        qs = Team.objects.all() if qs is None else qs
        if self.sees_everything:
            return qs
        return qs.filter(id__in=self.led_team_ids)

    def users(self, qs: QuerySet[User] | None = None) -> QuerySet[User]:
        qs = User.objects.all() if qs is None else qs
        if self.owner_ids is None:
            return qs
        return qs.filter(id__in=self.owner_ids)

    def customers(self, qs: QuerySet[Customer]) -> QuerySet[Customer]:
        """Customers the user owns or owned, and for leads those once in their teams' book."""
        if self.sees_everything:
            return qs
        if not self.user.is_authenticated:
            return qs.none()
        return qs.filter(id__in=self._visible_customer_ids())

    def customer_related(self, qs: QuerySet[_M], customer_field: str = "customer") -> QuerySet[_M]:
        """Rows hanging off a visible customer (contract lines, assignments), its history included."""
        if self.sees_everything:
            return qs
        if not self.user.is_authenticated:
            return qs.none()
        return qs.filter(**{f"{customer_field}_id__in": self._visible_customer_ids()})

    def _visible_customer_ids(self) -> QuerySet[Assignment, _CustomerIdRow]:
        """Customer ids (a subquery) of assignments held by the user, or held by someone while a
        member of a team the user leads: the membership and the assignment overlap by a day."""
        in_led_team_meanwhile = TeamMembership.objects.filter(
            Q(end_date__isnull=True) | Q(end_date__gte=OuterRef("start_date")),
            user_id=OuterRef("user_id"),
            team_id__in=self.led_team_ids,
            start_date__lte=Coalesce(OuterRef("end_date"), Value(date.max)),
        )
        held = Q(user_id=self.user.pk)
        if self.led_team_ids:
            held |= Q(Exists(in_led_team_meanwhile))
        return Assignment.objects.filter(held).values("customer_id")

    def snapshots(self, qs: QuerySet[RetentionSnapshot]) -> QuerySet[RetentionSnapshot]:
        """Retention rows: leads see their teams' and members' rows; members their own rows and
        their teams' totals (to compare against, never the other members' books)."""
        if self.sees_everything:
            return qs
        if not self.user.is_authenticated:
            return qs.none()
        team_names = Team.objects.filter(id__in=self.benchmark_team_ids).values_list("name", flat=True)
        visible = Q(scope_type=TEAM, scope_key__in=list(team_names)) | Q(scope_type=OWNER, scope_key=self.user.email)
        # A member's rows only for the periods whose first day found it in a led team.
        for _, email, start, end in self.led_memberships:
            in_team = Q(scope_type=OWNER, scope_key=email, period_start__gte=start)
            visible |= in_team & Q(period_start__lte=end) if end else in_team
        return qs.filter(visible)

    def cases(self, qs: QuerySet[ChurnCase]) -> QuerySet[ChurnCase]:
        """Churn cases: owned (on the day before the drop) by a visible team or owner."""
        return self._attributed(qs)

    def recordable_cases(self, qs: QuerySet[ChurnCase]) -> QuerySet[ChurnCase]:
        """The cases whose reasons the user may record: ``can_record_reason`` as a queryset filter."""
        if self.is_admin:
            return qs
        teams = self.led_team_ids
        return qs.filter(Q(csm_team_id__in=teams) | Q(am_team_id__in=teams))

    def attribution(self) -> tuple[frozenset[int], frozenset[int]] | None:
        """(team ids, owner ids) of the rows the user may see: a row attributed (on the period's
        first day, or the day before a drop) to one of these teams or owners. None: every row."""
        if self.sees_everything:
            return None
        if not self.user.is_authenticated:
            return frozenset(), frozenset()
        return self.led_team_ids, frozenset({self.user.pk})

    def _attributed(self, qs: QuerySet[ChurnCase]) -> QuerySet[ChurnCase]:
        """Rows attributed to a led team, or to the user as owner; never a former member's rows
        of the days it spent elsewhere."""
        if self.sees_everything:
            return qs
        if not self.user.is_authenticated:
            return qs.none()
        teams, me = self.led_team_ids, self.user.pk
        return qs.filter(Q(csm_team_id__in=teams) | Q(am_team_id__in=teams) | Q(csm_owner_id=me) | Q(am_owner_id=me))
