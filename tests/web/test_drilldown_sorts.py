"""Drill-down sorts by the owner and team columns and by the figure's amount (issue 10 point 6), in SQL
and paginated: the order is the one hand-computed from the page-test company (web_support), and the
total under the rows still equals the figure whatever the sort and page.

October 2026, the rows with ARR on Sep 30 (starting ARR, 60,000):
| customer | a      | b      | CSM (team)        | AM (team)       |
| Acme     | 12,000 | 15,000 | ann (CS East)     | amy (AM Team)   |  cross-sell 3,000
| Beta     | 24,000 |      0 | ann (CS East)     | unassigned      |
| Gamma    | 10,000 |  7,000 | cid (CS East)     | unassigned      |
| Delta    |  8,000 | 11,000 | bob (CS West)     | amy (AM Team)   |  upsell 3,000
| =Zeta    |  6,000 |  6,000 | unassigned        | unassigned      |
Epsilon (new, b 5,000, Bob) joins them under ARR at period end.
"""

from decimal import Decimal

import pytest
from web_support import OCTOBER, build_company

from metrics.queries import FIGURES, Scope
from metrics.recompute import accounts
from web.links import drill_url

COMPANY = Scope.company()


@pytest.fixture
def company(db):
    return build_company()


def names(rows):
    return [m.customer_name for m in rows]


def sorted_rows(sort, figure="starting_arr", limit=None):
    inputs = accounts.Inputs.current()
    period = inputs.period("month", OCTOBER)
    return names(accounts.account_rows(inputs.version, period, COMPANY, figure=figure, sort=sort, limit=limit))


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("csm_owner", ["Acme", "Beta", "Delta", "Gamma", "=Zeta"]),  # ann, ann, bob, cid, unassigned
        ("-csm_owner", ["=Zeta", "Gamma", "Delta", "Acme", "Beta"]),  # ties (ann) stay by customer id
        ("csm_team", ["Acme", "Beta", "Gamma", "Delta", "=Zeta"]),  # CS East x3, CS West, unassigned
        ("am_owner", ["Acme", "Delta", "Beta", "Gamma", "=Zeta"]),  # amy x2, unassigned x3
        ("-am_team", ["Beta", "Gamma", "=Zeta", "Acme", "Delta"]),  # unassigned x3, AM Team x2
    ],
)
def test_rows_sort_by_owner_email_and_team_name_on_the_first_day(company, sort, expected):
    assert sorted_rows(sort) == expected
    assert sorted_rows(sort, limit=2) == expected[:2]  # the order is the SQL's, before the limit


def test_rows_sort_by_the_figures_amount_including_cross_sell_and_upsell(company):
    # ARR at period end: Acme 15,000, Delta 11,000, Gamma 7,000, Zeta 6,000, Epsilon 5,000, Beta 0.
    assert sorted_rows("-amount", figure="arr_end") == ["Acme", "Delta", "Gamma", "=Zeta", "Epsilon", "Beta"]
    # Churn is a: Beta 24,000 only; contraction a - b: Gamma 3,000 only.
    assert sorted_rows("-amount", figure="churn") == ["Beta"]
    # Upsell: Delta 3,000, Acme 0 (its 3,000 is cross-sell); cross-sell: Delta 0, Acme 3,000 (x is in the rows).
    assert sorted_rows("-amount", figure="upsell", limit=1) == ["Delta"]
    assert sorted_rows("amount", figure="cross_sell", limit=1) == ["Delta"]
    assert sorted_rows("-amount", figure="cross_sell", limit=1) == ["Acme"]


def test_sorting_by_amount_without_a_money_figure_says_why(company):
    with pytest.raises(ValueError, match="money figure"):
        sorted_rows("amount", figure="nrr")
    with pytest.raises(ValueError, match="Unknown sort"):
        sorted_rows("owner")


def test_the_page_sorts_by_each_new_column_and_its_total_still_equals_the_figure(client, company, monkeypatch):
    import web.views

    monkeypatch.setattr(web.views, "DRILL_PAGE_SIZE", 2)
    client.force_login(company["executive"])
    base = drill_url(COMPANY, "month", OCTOBER, "arr_end")
    first = client.get(base)
    figure_value = first.context["figure_value"]
    assert figure_value == Decimal("44000")  # 15,000 + 11,000 + 7,000 + 6,000 + 5,000 + 0
    page = first.content.decode()
    for key in ("amount", "csm_owner", "csm_team", "am_owner", "am_team"):
        assert f'data-testid="sort-{key}"' in page
    assert "sort=amount" in page and "ARR at period end</a>" in page  # the amount column is headed by the figure
    for sort, expected in [
        ("-amount", ["Acme", "Delta", "Gamma", "=Zeta", "Epsilon", "Beta"]),
        ("csm_owner", ["Acme", "Beta", "Delta", "Epsilon", "Gamma", "=Zeta"]),  # ann x2, bob x2, cid, unassigned
        ("-csm_team", ["=Zeta", "Delta", "Epsilon", "Acme", "Beta", "Gamma"]),  # unassigned, CS West x2, CS East x3
    ]:
        seen = []
        for number in (1, 2, 3):
            response = client.get(f"{base}&sort={sort}&page={number}")
            seen += [m.customer_name for m in response.context["rows"]]
            assert response.context["totals"].amount == figure_value  # the total is every page's, not this one's
            assert response.context["totals"].accounts == 6
        assert seen == expected, sort
    shown = client.get(f"{base}&sort=-amount").content.decode()
    assert 'class="num sortable desc" data-testid="sort-amount"' in shown


def test_the_amount_sort_falls_back_without_a_money_figure_and_the_csv_keeps_its_columns(client, company):
    client.force_login(company["executive"])
    rate = client.get(drill_url(COMPANY, "month", OCTOBER, "nrr") + "&sort=amount")
    assert rate.status_code == 200 and 'data-testid="sort-amount"' not in rate.content.decode()
    csv_text = client.get(drill_url(COMPANY, "month", OCTOBER, "churn") + "&sort=-csm_owner&format=csv")
    lines = b"".join(csv_text.streaming_content).decode().splitlines()
    assert lines[0].startswith("customer,external_id,product,starting_arr,ending_arr,amount,movement")
    assert len(lines) == 2 and "24000.00" in lines[1]


def test_every_figure_total_is_unchanged_by_the_new_sorts(company):
    inputs = accounts.Inputs.current()
    period = inputs.period("month", OCTOBER)
    for name in ("starting_arr", "expansion", "upsell", "cross_sell", "churn", "arr_end"):
        figure = FIGURES[name]
        expected = accounts.account_totals(inputs.version, period, COMPANY, figure=figure).amount
        for sort in ("-amount", "am_team", "csm_owner"):
            _, totals = accounts.account_page(inputs.version, period, COMPANY, figure=figure, sort=sort, limit=1)
            assert totals.amount == expected, (name, sort)
