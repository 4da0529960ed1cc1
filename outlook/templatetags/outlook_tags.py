from django import template

register = template.Library()


@register.filter
def owner_in(renewal, role: str) -> str:
    return renewal.owner_email(role)


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The page's query string with some parameters changed (format dropped)."""
    params = context["request"].GET.copy()
    params.pop("format", None)
    for name, value in changes.items():
        params[name] = value
    return params.urlencode()


OWNER_AHEAD_DAYS = 90


@register.inclusion_tag("outlook/_owner_renewals.html", takes_context=True)
def owner_renewals(context, owner, role: str):
    """The owner's lines up for renewal in the next 90 days (owner in ``role`` on the end date)."""
    from datetime import timedelta

    from django.conf import settings
    from django.urls import reverse

    from accounts.scoping import Visibility
    from metrics.recompute import triggers

    from ..renewals import load_renewals, summarize

    vis = Visibility.for_user(context["request"].user)
    start = triggers.today()
    end = start + timedelta(days=OWNER_AHEAD_DAYS)
    rows = load_renewals(vis, start, end, start, settings.RENEWAL_GRACE_DAYS, role=role, owner_id=owner.pk)
    link = f"{reverse('outlook:renewals')}?start={start.isoformat()}&end={end.isoformat()}&role={role}&owner={owner.pk}"
    return {"rows": rows, "total": summarize(rows, role).total, "role": role, "hide_owner": True, "link": link,
            "days": OWNER_AHEAD_DAYS, "testid": "owner-renewals", "request": context["request"],
            "empty": f"No line of this book comes up for renewal in the next {OWNER_AHEAD_DAYS} days."}  # fmt: skip


@register.inclusion_tag("outlook/_forecast_panel.html", takes_context=True)
def forecast_panel(context, scope):
    """This quarter's and this year's GRR and NRR, measured and forecast, for a company, team or owner."""
    from urllib.parse import urlencode

    from django.urls import reverse

    from accounts.scoping import Visibility
    from metrics.models import RetentionSnapshot
    from web.links import scope_params

    from ..forecasting import scope_forecasts

    if scope is None or scope.type not in ("company", "team", "owner"):
        return {"items": []}
    vis = Visibility.for_user(context["request"].user)
    snapshots = vis.snapshots(RetentionSnapshot.objects.all())
    items = []
    for f in scope_forecasts(snapshots, scope):
        granularity = f.row.granularity
        url = f"{reverse('outlook:forecast')}?{urlencode({**scope_params(scope), 'granularity': granularity})}"
        items.append({"f": f, "url": url})
    return {"items": items}
