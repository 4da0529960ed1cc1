"""The weekly digest email (issue 12): to each owner and each team lead, unless turned off.

What one user's digest holds, all scoped through ``metrics.scoping.Visibility`` as on the pages:
- its TTM NRR and GRR (the last complete window) against the fiscal year's target, for its own
  book (per role it owns accounts in) and, for a lead, each team it leads;
- what changed last week (Monday to Sunday before the day it is sent): churn and contraction
  cases dated in it, and risk marks recorded on its accounts;
- cases waiting for a reason (a lead: those it may record; an owner: those of its book);
- renewals in the next 30 days of accounts at risk or likely to churn.

Recipients: active users who lead a team or hold an assignment today, with no digest turned off;
one digest per user and week (``DigestSent``), so a second run of the week sends nothing again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse

log = logging.getLogger(__name__)
RENEWAL_DAYS = 30
ROLE_LABELS = {"csm": "CSM", "am": "AM"}


@dataclass
class Kpi:
    label: str
    period: str
    nrr: Decimal | None
    grr: Decimal | None
    nrr_target: Decimal | None = None
    grr_target: Decimal | None = None

    @property
    def nrr_gap(self):
        return None if self.nrr is None or self.nrr_target is None else self.nrr - self.nrr_target

    @property
    def grr_gap(self):
        return None if self.grr is None or self.grr_target is None else self.grr - self.grr_target


@dataclass
class Digest:
    user: object
    week_start: date
    week_end: date
    kpis: list = field(default_factory=list)
    cases: list = field(default_factory=list)
    cases_lost: Decimal = Decimal("0")
    marks: list = field(default_factory=list)
    waiting: int = 0
    waiting_lost: Decimal = Decimal("0")
    waiting_is_queue: bool = False
    renewals: list = field(default_factory=list)
    links: dict = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return f"Your retention week, {self.week_start:%b %-d} – {self.week_end:%b %-d}"


def week_before(day: date) -> tuple[date, date]:
    """The Monday and Sunday of the week before the one holding ``day``."""
    monday = day - timedelta(days=day.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def recipients():
    from accounts.models import Team, User
    from metrics.models import Assignment
    from metrics.recompute import triggers

    today = triggers.today()
    owning = Assignment.objects.filter(Q(end_date__isnull=True) | Q(end_date__gte=today), start_date__lte=today).values(
        "user_id"
    )
    leading = Team.objects.filter(lead__isnull=False).values("lead_id")
    return (
        User.objects.filter(is_active=True)
        .filter(Q(id__in=owning) | Q(id__in=leading))
        .exclude(digest_preference__weekly_digest=False)
        .order_by("email")
    )


def build(user, today: date) -> Digest:
    from metrics import queries
    from metrics.models import ChurnCase, Customer, RetentionSnapshot
    from metrics.scoping import Visibility
    from web.templatetags.retention_format import period_label

    from .models import RiskMark
    from .renewals import load_renewals
    from .targets import TargetBook

    vis = Visibility(user)
    start, end = week_before(today)
    digest = Digest(user, start, end)
    snapshots = vis.snapshots(RetentionSnapshot.objects.all())
    book = TargetBook.load()

    def kpi(label, scope):
        row = queries.last_complete(snapshots, scope, "ttm")
        if row is None:
            return None
        target = book.for_row(row, settings.FISCAL_YEAR_START_MONTH)
        return Kpi(
            label,
            period_label("ttm", row.period_start, row.period_end),
            row.nrr,
            row.grr,
            target.nrr if target else None,
            target.grr if target else None,
        )

    for role in ("csm", "am"):
        found = kpi(f"Your book ({ROLE_LABELS[role]})", queries.Scope.owner(user, role))
        if found:
            digest.kpis.append(found)
    from web.selectors import default_role_for_team

    for team in vis.teams().filter(id__in=vis.led_team_ids).order_by("name"):
        role = default_role_for_team(team)
        found = kpi(f"{team.name} ({ROLE_LABELS[role]})", queries.Scope.team(team, role))
        if found:
            digest.kpis.append(found)

    cases = vis.cases(ChurnCase.objects.filter(void=False, date__gte=start, date__lte=end)).select_related("customer")
    digest.cases = list(cases.order_by("-lost_arr", "customer__name"))
    digest.cases_lost = sum((c.lost_arr for c in digest.cases), Decimal("0"))
    visible_customers = vis.customers(Customer.objects.all()).values("id")
    digest.marks = list(
        RiskMark.objects.filter(
            customer_id__in=visible_customers, recorded_at__date__gte=start, recorded_at__date__lte=end
        )
        .select_related("customer", "recorded_by")
        .order_by("-id")
    )
    if vis.can_record_reasons():
        waiting = vis.recordable_cases(ChurnCase.objects.filter(void=False, primary_reason__isnull=True))
        digest.waiting_is_queue = True
    else:
        waiting = vis.cases(ChurnCase.objects.filter(void=False, primary_reason__isnull=True))
    totals = waiting.aggregate(lost=Sum("lost_arr"))
    digest.waiting, digest.waiting_lost = waiting.count(), totals["lost"] or Decimal("0")
    upcoming = load_renewals(vis, today, today + timedelta(days=RENEWAL_DAYS), today, settings.RENEWAL_GRACE_DAYS)
    digest.renewals = [r for r in upcoming if r.at_risk]

    site = settings.SITE_URL
    digest.links = {
        "home": f"{site}/",
        "renewals": f"{site}{reverse('outlook:renewals')}?start={today.isoformat()}&end={(today + timedelta(days=RENEWAL_DAYS)).isoformat()}",
        "queue": f"{site}{reverse('reasons:queue')}"
        if digest.waiting_is_queue
        else f"{site}{reverse('owner', args=[user.pk])}",
        "preferences": f"{site}{reverse('outlook:digest')}",
    }
    return digest


def send_weekly_digests(today: date | None = None) -> dict:
    """Send this week's digest to every recipient that has not had it yet; one SMTP connection."""
    from django.db import IntegrityError, transaction

    from metrics.recompute import triggers

    from .models import DigestSent

    today = today or triggers.today()
    week_start, _ = week_before(today)
    sent, skipped = 0, 0
    connection = get_connection()
    with connection:
        for user in recipients():
            if DigestSent.objects.filter(user=user, week_start=week_start).exists():
                skipped += 1
                continue
            digest = build(user, today)
            context = {"d": digest, "user": user}
            message = EmailMultiAlternatives(
                digest.subject,
                render_to_string("outlook/digest.txt", context),
                settings.DEFAULT_FROM_EMAIL,
                [user.email],
                connection=connection,
            )
            message.attach_alternative(render_to_string("outlook/digest.html", context), "text/html")
            try:
                with transaction.atomic():
                    DigestSent.objects.create(user=user, week_start=week_start)
                    message.send()  # a failure rolls the mark back: the next run sends it
            except IntegrityError:
                skipped += 1  # another run sent it meanwhile
                continue
            sent += 1
    log.info("weekly digest for the week of %s: %d sent, %d already sent", week_start, sent, skipped)
    return {"week_start": week_start.isoformat(), "sent": sent, "already_sent": skipped}
