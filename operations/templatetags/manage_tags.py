"""The managing pages' own navigation (admins: import, people, teams, books; leads: books)."""

from django import template
from django.urls import NoReverseMatch, reverse

from metrics.scoping import visibility

register = template.Library()

ADMIN_PAGES = [
    ("Import", "operations:imports", "imports"),
    ("People", "operations:people", "people"),
    ("Teams", "operations:teams", "teams"),
    ("Books", "operations:books", "books"),
]
LEAD_PAGES = [("Books", "operations:books", "books")]


def manage_links(request) -> list[tuple[str, str, str]]:
    vis = visibility(request)
    pages = ADMIN_PAGES if vis.is_admin else LEAD_PAGES if vis.led_team_ids else []
    links = []
    for label, name, key in pages:
        try:
            links.append((label, reverse(name), key))
        except NoReverseMatch:  # a page not built yet
            continue
    return links


@register.inclusion_tag("operations/_subnav.html", takes_context=True)
def manage_subnav(context, current: str):
    return {"manage_links": manage_links(context["request"]), "current": current}
