"""Figures and cases side by side (SPEC section 3, issue 10 point 2): each case says whether it
counts in the figure beside it and why not, and the totals meet, on owner, team and company pages."""

import re
from datetime import date
from decimal import Decimal as D

import pytest

from metrics import recompute
from metrics.models import Assignment, ContractLine, Customer, PendingRecompute, RetentionSnapshot
from metrics.reconcile import CAME_BACK, COUNTS, FELL_TWICE, JOINED, NEW_CUSTOMER, CaseIn, reconcile
from tests.web_support import OCTOBER, TODAY, build_company
from web.money import full

# --- the rule, by hand ---------------------------------------------------------------------------


def test_each_case_gets_a_verdict_and_the_totals_meet_the_figures():
    cases = [
        CaseIn(1, 10, date(2026, 3, 1), D("100")),  # customer 10: 100 -> 0 on Mar 1 ...
        CaseIn(2, 11, date(2026, 4, 1), D("40")),  # 11: 100 -> 60, then 60 -> 0: fell twice
        CaseIn(3, 11, date(2026, 5, 1), D("60")),
        CaseIn(4, 12, date(2026, 4, 1), D("50")),  # 12: churned and came back at 50 (b = a)
        CaseIn(5, 13, date(2026, 6, 1), D("30")),  # 13: in another book on s, joined this one
        CaseIn(6, 14, date(2026, 6, 1), D("20")),  # 14: first revenue inside the period
        CaseIn(7, 15, date(2026, 6, 1), D("90")),  # 15: 70 -> 90 (grew) -> 0: counts 70
    ]
    cohort = {
        10: (D("100"), D("0")),
        11: (D("100"), D("0")),
        12: (D("50"), D("50")),
        15: (D("70"), D("0")),
        16: (D("80"), D("30")),
    }  # 16: contraction 50, its case in another book
    result = reconcile(cases, cohort, paying_before={13})
    verdict = {case_id: v.verdict for case_id, v in result.verdicts.items()}
    assert verdict == {1: COUNTS, 2: FELL_TWICE, 3: COUNTS, 4: CAME_BACK, 5: JOINED, 6: NEW_CUSTOMER, 7: COUNTS}
    assert [result.verdicts[i].counted for i in (1, 3, 7)] == [D("100"), D("100"), D("70")]
    assert result.verdicts[3].figure == "churn" and result.verdicts[2].counted == 0
    assert (result.listed.cases, result.listed.lost_arr) == (7, D("390"))
    not_counted = {g.key: (g.cases, g.lost_arr) for g in result.not_counted}
    assert not_counted == {
        FELL_TWICE: (1, D("40")),
        CAME_BACK: (1, D("50")),
        JOINED: (1, D("30")),
        NEW_CUSTOMER: (1, D("20")),
    }
    assert (result.counted.cases, result.counted.lost_arr, result.counted_amount) == (3, D("250"), D("270"))
    assert result.start_to_end == D("20")  # 15 lost 90 at its drop but started the period at 70
    assert result.moved_out == [(16, D("50"), "contraction")]
    assert (result.by_figure("churn"), result.by_figure("contraction")) == (D("270"), D("50"))
    # The walk on screen: listed - not counted = counted; + start-to-end + moved out = figures.
    assert result.listed.lost_arr - sum(g.lost_arr for g in result.not_counted) == result.counted.lost_arr
    assert result.counted.lost_arr + result.start_to_end + result.moved_out_amount == result.figure_total == D("320")


def test_a_contraction_that_came_back_lower_counts_as_contraction():
    result = reconcile([CaseIn(1, 10, date(2026, 3, 1), D("100"))], {10: (D("100"), D("40"))}, paying_before=set())
    v = result.verdicts[1]
    assert (v.verdict, v.figure, v.counted) == (COUNTS, "contraction", D("60"))


# --- on the pages --------------------------------------------------------------------------------


@pytest.fixture
def company(db):
    world = build_company(compute=False)
    # Kappa: Bob's on October 1, Ann's from October 10, churns October 20: the case is Ann's (owned
    # the day before), the loss is in Bob's figure.
    kappa = Customer.objects.create(external_id="C7", name="Kappa", segment="SMB")
    ContractLine.objects.create(
        external_id="L10",
        customer=kappa,
        product="Core",
        start_date=date(2025, 1, 1),
        end_date=date(2026, 10, 19),
        arr=D("4000"),
    )
    Assignment.objects.create(
        customer=kappa, user=world["bob"], role="csm", start_date=date(2025, 1, 1), end_date=date(2026, 10, 9)
    )
    Assignment.objects.create(customer=kappa, user=world["ann"], role="csm", start_date=date(2026, 10, 10))
    PendingRecompute.objects.all().delete()
    recompute.recompute_all(TODAY)
    return world


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def verdicts(response) -> dict[str, str]:
    body = response.content.decode()
    table = body.split('data-testid="cases"')[1].split("</table>")[0]
    rows = re.findall(r'<tr data-verdict="(\w+)">.*?<a [^>]*>([^<]+)</a>', table, re.S)
    return {name: verdict for verdict, name in rows}


def month(path: str) -> str:
    return f"{path}?granularity=month&period={OCTOBER.isoformat()}&role=csm"


def test_the_owner_page_says_which_case_counts_and_the_totals_meet(client, company):
    client.force_login(company["ann"])
    page = client.get(month(f"/owners/{company['ann'].pk}/"))
    row = RetentionSnapshot.objects.get(
        scope_type="owner", scope_key="ann@example.com", role="csm", granularity="month", period_start=OCTOBER
    )
    assert row.churn == D("24000.00")  # Beta only: Kappa was Bob's on October 1
    assert verdicts(page) == {"Beta": COUNTS, "Kappa": JOINED}
    words = text(page)
    assert "counts: churn $24,000" in words and "not counted: joined the book after the period began" in words
    assert "Cases listed 2 $28,000" in words and "= cases that count 1 $24,000" in words
    total = page.content.decode().split('data-testid="reconciled-total">')[1].split("<")[0]
    assert total == "$24,000" == full(row.churn + row.contraction)


def test_the_team_page_lists_what_fell_after_moving_to_another_book(client, company):
    client.force_login(company["west_lead"])
    page = client.get(month(f"/teams/{company['west'].pk}/"))
    row = RetentionSnapshot.objects.get(
        scope_type="team", scope_key="CS West", role="csm", granularity="month", period_start=OCTOBER
    )
    assert row.churn == D("4000.00")  # Kappa, Bob's (West) on October 1
    words = text(page)
    assert "Cases listed 0" in words and "Kappa (churn $4,000)" in words
    assert page.content.decode().split('data-testid="reconciled-total">')[1].split("<")[0] == "$4,000"


def test_the_company_page_reconciles_its_cases_too(client, company):
    client.force_login(company["executive"])
    page = client.get(f"/company/?granularity=month&period={OCTOBER.isoformat()}")
    row = RetentionSnapshot.objects.get(scope_type="company", granularity="month", period_start=OCTOBER)
    assert verdicts(page) == {"Beta": COUNTS, "Kappa": COUNTS, "Gamma": COUNTS}
    total = page.content.decode().split('data-testid="reconciled-total">')[1].split("<")[0]
    assert total == full(row.churn + row.contraction) == "$31,000"  # 24,000 + 4,000 + 3,000
