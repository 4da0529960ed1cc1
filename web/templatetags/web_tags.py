"""Page furniture: navigation by role, the recompute notice, and figures that link to their accounts."""

from django import template
from django.utils.html import format_html
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from metrics.scoping import visibility
from metrics.queries import FIGURES, recompute_status

from ..definitions import FIGURE_DEFINITIONS
from ..health import recompute_health
from ..links import drill_url
from .retention_format import count, money, money_compact, rate, signed_money

register = template.Library()


@register.simple_tag
def figure(scope, row, name: str, movement: str = "", compact: bool = False):
    """A snapshot figure, formatted, as a link to the accounts behind it (a dash when undefined).

    ``compact``: money as on a card ($87.5M), the exact amount in the link's title."""
    spec = FIGURES[name]
    value = spec.of(row) if row is not None else None
    text = rate(value) if spec.is_rate else money(value) if spec.amount else count(value)
    if row is None:
        return text
    url = drill_url(scope, row.granularity, row.period_start, name, movement)
    tip = f"{spec.label}: {FIGURE_DEFINITIONS[name]} Click for the accounts behind it."
    if compact and spec.amount and value is not None:
        link = format_html('<a class="fig" href="{}" data-figure="{}" title="{} {}">{}</a>', url, name, text, tip,
                           money_compact(value))  # fmt: skip
    else:
        link = format_html('<a class="fig" href="{}" data-figure="{}" title="{}">{}</a>', url, name, tip, text)
    live_row = getattr(row, "live", None)
    if getattr(row, "close", None) is None or live_row is None:
        return link
    # A closed period shows its reported figure; where the live one now differs, a mark opens to it.
    live = spec.of(live_row)
    if not row.reported_missing and live == value:
        return link
    def show(v):
        return rate(v) if spec.is_rate else money(v) if spec.amount else count(v)

    if row.reported_missing:
        detail = format_html("Not in the reported figures: this scope had no figures when the period was closed. Live: {}", show(live))
    else:
        if value is None or live is None:
            difference = "—"
        elif spec.is_rate:
            difference = f"{(live - value) * 100:+,.1f} pts"
        elif spec.amount:
            difference = signed_money(live - value)
        else:
            difference = f"{live - value:+,}"
        detail = format_html('Reported: {} · live: <strong data-testid="live-value">{}</strong> · difference: <span data-testid="restated-difference">{}</span>',
                             text, show(live), difference)  # fmt: skip
    return format_html(
        '{} <details class="restated" data-testid="restated" data-figure="{}"><summary title="{}">restated</summary>'
        '<span class="restated-detail">{}</span></details>',
        link, name, "The live figure now differs from the reported one: click for it", detail,
    )


@register.simple_tag
def figure_help(name: str):
    """A small "?" beside a figure's label: its definition as a tooltip, a link to the page
    that explains every figure (web/definitions.py)."""
    label = FIGURES[name].label if name in FIGURES else ""
    tip = f"{label}: {FIGURE_DEFINITIONS.get(name, '')} Click: how figures are computed."
    url = reverse("figures_help") + f"#{name}"
    return format_html('<a class="fig-help" href="{}" title="{}" aria-label="How {} is computed">?</a>', url, tip, label)


@register.simple_tag
def accounts_url(scope, granularity, period_start, figure_name: str = "", movement: str = ""):
    return drill_url(scope, granularity, period_start, figure_name, movement)


def optional_url(name: str, *args) -> str | None:
    """A link to another helper's page only once that page exists."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


@register.inclusion_tag("web/_nav.html", takes_context=True)
def nav_links(context):
    request = context["request"]
    vis = visibility(request)
    links = []
    if vis.can_see_company():
        links.append(("Company", reverse("company")))
    links += [(team.name, reverse("team", args=[team.pk])) for team in vis.teams().filter(id__in=vis.led_team_ids)]
    if not vis.sees_everything:
        links.append(("My book", reverse("owner", args=[request.user.pk])))
    reason_pages = [("Churn reasons", "reasons:queue")] if vis.can_record_reasons() else []
    target_pages = [("Targets", "outlook:targets")] if vis.is_admin else []
    for label, name in [*reason_pages, ("Pareto", "reasons:pareto"), ("Renewals", "outlook:renewals"), ("Cohorts", "outlook:cohorts"), *target_pages, ("Weekly email", "outlook:digest")]:
        url = optional_url(name)
        if url:
            links.append((label, url))
    if vis.is_admin:
        links.append(("Exchange rates", reverse("fx-rates")))
    if vis.can_see_restatements():
        links.append(("Closed periods", reverse("closing:list")))
    customers = optional_url("operations:customers")
    if customers:
        links.append(("Customers", customers))
    from operations.templatetags.manage_tags import manage_links

    manage = manage_links(request)
    if manage:  # admins: import, people, teams, books; leads: their team's books
        links.append(("Manage" if vis.is_admin else manage[0][0], manage[0][1]))
    links += [("API tokens", reverse("api-tokens")), ("API docs", reverse("v1:docs"))]
    links.append(("How figures are computed", reverse("figures_help")))
    if request.user.is_superuser:  # Django's own admin: for superusers only
        links.append(("Django admin", reverse("admin:index")))
    return {"links": links, "current": request.path}


@register.inclusion_tag("web/_status.html", takes_context=True)
def recompute_notice(context):
    status, pending = recompute_status()
    behind = status is not None and status.as_of is not None and status.as_of < timezone.localdate()
    notice = {"status": status, "pending": pending, "behind": behind}
    if visibility(context["request"]).is_admin:  # operators see trouble on every page
        notice["health"] = recompute_health()
    return notice
