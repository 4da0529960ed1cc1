"""Display of the reason pages' amounts and fractions, through ``web.money`` (the one formatting
module): lost ARR in the reporting currency ($6,500), 0.6250 -> 62.5%; undefined -> a dash."""

from django import template

from web import money as formatting

register = template.Library()


@register.filter
def percent(fraction):
    return formatting.percent(fraction)


@register.filter
def money(value):
    return formatting.full(value)


@register.inclusion_tag("reasons/_subnav.html", takes_context=True)
def reasons_subnav(context, current=""):
    """The reason pages' own links, offering only what the viewer may open."""
    from django.urls import reverse

    from accounts.scoping import Visibility

    vis = Visibility.for_user(context["request"].user)
    links = []
    if vis.can_record_reasons():
        links.append(("queue", "Reason queue", reverse("reasons:queue")))
    links.append(("pareto", "Pareto", reverse("reasons:pareto")))
    links.append(("cases", "Cases", reverse("reasons:cases")))
    if vis.is_admin:
        links.append(("taxonomy", "Reason taxonomy", reverse("reasons:taxonomy")))
    return {"links": links, "current": current}
