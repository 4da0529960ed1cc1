"""Scopes in URLs: the query string of a drill-down link, and back to a Scope the viewer may see.

Team and owner scopes travel by id (so another team's or owner's id answers 404 through
Visibility); slices travel by their value.
"""

from datetime import date
from functools import lru_cache
from urllib.parse import urlencode

from django.urls import reverse

from metrics.queries import Scope
from metrics.scoping import Visibility
from metrics.vocabulary import COMPANY, OWNER, TEAM, UNASSIGNED


def scope_params(scope: Scope) -> dict[str, str]:
    params = {"scope": scope.type}
    if scope.type in (TEAM, OWNER):
        params["key"] = str(scope.object_id) if scope.object_id else UNASSIGNED
        params["role"] = scope.role
    elif scope.type != COMPANY:
        params["key"] = scope.key
    return params


def drill_url(scope: Scope, granularity: str, period_start: date, figure: str = "", movement: str = "") -> str:
    # Plain urlencode on a list: a book of hundreds of accounts links each row.
    params = [*scope_params(scope).items(), ("granularity", granularity), ("period", period_start.isoformat())]
    if figure:
        params.append(("figure", figure))
    if movement:
        params.append(("movement", movement))
    return f"{drilldown_path()}?{urlencode(params)}"


@lru_cache(maxsize=1)
def drilldown_path() -> str:
    return reverse("drilldown")


def scope_from_params(vis: Visibility, params) -> Scope:
    """The scope a drill-down link asks for; the scoping module says whether the viewer may see it."""
    return vis.scope(params.get("scope", COMPANY), params.get("key", ""), params.get("role", ""))
