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

    from metrics.recompute import triggers
    from metrics.scoping import visibility

    from ..renewals import load_renewals, summarize

    vis = visibility(context["request"])
    start = triggers.today()
    end = start + timedelta(days=OWNER_AHEAD_DAYS)
    rows = load_renewals(vis, start, end, start, settings.RENEWAL_GRACE_DAYS, role=role, owner_id=owner.pk)
    link = f"{reverse('outlook:renewals')}?start={start.isoformat()}&end={end.isoformat()}&role={role}&owner={owner.pk}"
    return {
        "rows": rows,
        "total": summarize(rows, role).total,
        "role": role,
        "hide_owner": True,
        "link": link,
        "days": OWNER_AHEAD_DAYS,
        "testid": "owner-renewals",
        "request": context["request"],
        "empty": f"No line of this book comes up for renewal in the next {OWNER_AHEAD_DAYS} days.",
    }


@register.inclusion_tag("outlook/_forecast_panel.html", takes_context=True)
def forecast_panel(context, scope):
    """This quarter's and this year's GRR and NRR, measured and forecast, for a company, team or owner."""
    from urllib.parse import urlencode

    from django.conf import settings
    from django.urls import reverse

    from metrics.models import RetentionSnapshot
    from metrics.scoping import visibility
    from web.links import scope_params

    from ..forecasting import scope_forecasts
    from ..targets import book_for, gap, target_year

    if scope is None or scope.type not in ("company", "team", "owner"):
        return {"items": []}
    vis = visibility(context["request"])
    snapshots = vis.snapshots(RetentionSnapshot.objects.all())
    items = []
    for f in scope_forecasts(snapshots, scope):
        granularity = f.row.granularity
        url = f"{reverse('outlook:forecast')}?{urlencode({**scope_params(scope), 'granularity': granularity})}"
        item = {"f": f, "url": url}
        # The year's forecast against the year's target.
        fy = target_year(granularity, f.row.period_start, f.row.period_end, settings.FISCAL_YEAR_START_MONTH)
        target = book_for(context["request"]).get(fy, scope.type, scope.key, scope.role)
        for metric in ("nrr", "grr"):
            value = getattr(target, metric) if target else None
            item[f"{metric}_note"] = (
                gap_html(gap(getattr(f.forecast, f"forecast_{metric}"), value), value, metric)
                if value is not None
                else ""
            )
        items.append(item)
    return {"items": items}


@register.simple_tag(takes_context=True)
def target_note(context, row, metric: str):
    """'target 105.0% · -2.1 pts' under a yearly NRR or GRR figure that has a target, green at or
    above it, red below; nothing otherwise."""
    from django.conf import settings

    from ..targets import book_for, gap

    request = context.get("request")
    if row is None or request is None:
        return ""
    value = book_for(request).for_row(row, settings.FISCAL_YEAR_START_MONTH)
    target = getattr(value, metric) if value else None
    if target is None:
        return ""
    return gap_html(gap(getattr(row, metric), target), target, metric)


def gap_html(difference, target, metric: str):
    from django.utils.html import format_html

    from web.templatetags.retention_format import rate

    if difference is None:
        return format_html('<small class="target" data-target="{}">target {}</small>', metric, rate(target))
    css = "gap-up" if difference >= 0 else "gap-down"
    return format_html(
        '<small class="target {}" data-target="{}" data-gap="{}">target {} · {} pts</small>',
        css,
        metric,
        difference,
        rate(target),
        f"{difference * 100:+.1f}",
    )


@register.simple_tag
def gap_cell(item, metric: str):
    """A table cell's gap of ``metric`` to its target (set by outlook.targets.attach_gaps)."""
    if item.target is None:
        return "—"
    return gap_html(item.gap, item.target, metric)


@register.filter
def get_item(mapping, key):
    return mapping.get(key)


@register.filter
def points(difference) -> str:
    """A gap in rate points: Decimal('-0.0213') -> '-2.1 pts'."""
    if difference is None:
        return "—"
    return f"{difference * 100:+.1f} pts"
