"""The churn reason Pareto and coverage arithmetic, checked against hand-computed figures."""

from decimal import Decimal as D

import pytest

from metrics.pareto import NO_REASON_LABEL, coverage_of, pareto, pareto_from_groups

# Six cases, 10,000.00 of lost ARR in all:
#   Cost:             3,000 + 1,000        = 4,000.00  (2 cases)
#   Missing features: 2,500                = 2,500.00  (1 case)
#   Support:            500 + 500 + 500    = 1,500.00  (3 cases)
#   no reason:        2,000                = 2,000.00  (1 case)
CASES = [
    ("Cost", D("3000.00")),
    ("Missing features", D("2500.00")),
    (None, D("2000.00")),
    ("Cost", D("1000.00")),
    ("Support", D("500.00")),
    ("Support", D("500.00")),
    ("Support", D("500.00")),
]


def as_table(rows):
    return [(r.label, r.count, r.lost_arr, r.share, r.cumulative_share) for r in rows]


def test_ordered_by_lost_arr_with_shares_of_lost_arr():
    assert as_table(pareto(CASES)) == [
        ("Cost", 2, D("4000.00"), D("0.4000"), D("0.4000")),
        ("Missing features", 1, D("2500.00"), D("0.2500"), D("0.6500")),
        (NO_REASON_LABEL, 1, D("2000.00"), D("0.2000"), D("0.8500")),
        ("Support", 3, D("1500.00"), D("0.1500"), D("1.0000")),
    ]


def test_ordered_by_count_with_shares_of_cases():
    # 7 cases: Support 3/7 = 0.4286, Cost 2/7 = 0.2857 (cum 5/7 = 0.7143),
    # then two rows of one case, tie broken by label: "Missing features" before "no reason recorded".
    assert as_table(pareto(CASES, order_by="count")) == [
        ("Support", 3, D("1500.00"), D("0.4286"), D("0.4286")),
        ("Cost", 2, D("4000.00"), D("0.2857"), D("0.7143")),
        ("Missing features", 1, D("2500.00"), D("0.1429"), D("0.8571")),
        (NO_REASON_LABEL, 1, D("2000.00"), D("0.1429"), D("1.0000")),
    ]


def test_cumulative_share_comes_from_running_totals_not_rounded_shares():
    # Thirds: each share rounds to 0.3333, but the cumulative shares are 1/3, 2/3 and exactly 1.
    rows = pareto([("A", D("1")), ("B", D("1")), ("C", D("1"))])
    assert [(r.label, r.share, r.cumulative_share) for r in rows] == [
        ("A", D("0.3333"), D("0.3333")),
        ("B", D("0.3333"), D("0.6667")),
        ("C", D("0.3333"), D("1.0000")),
        (NO_REASON_LABEL, D("0.0000"), D("1.0000")),
    ]


def test_no_reason_row_is_present_at_zero_when_every_case_has_a_reason():
    rows = pareto([("Cost", D("120.50"))])
    assert as_table(rows) == [
        ("Cost", 1, D("120.50"), D("1.0000"), D("1.0000")),
        (NO_REASON_LABEL, 0, D("0"), D("0.0000"), D("1.0000")),
    ]
    assert [r.has_reason for r in rows] == [True, False]


def test_no_cases_leaves_only_the_no_reason_row_with_undefined_shares():
    assert as_table(pareto([])) == [(NO_REASON_LABEL, 0, D("0"), None, None)]


def test_ties_on_lost_arr_are_ordered_by_label_ignoring_case():
    rows = pareto([("beta", D("10")), ("Alpha", D("10")), ("Gamma", D("10")), (None, D("10"))])
    assert [r.label for r in rows] == ["Alpha", "beta", "Gamma", NO_REASON_LABEL]


def test_grouped_input_keeps_codes_and_merges_unrecorded_groups():
    rows = pareto_from_groups(
        [
            ("Cost", 2, D("900.00"), "cost"),
            (None, 1, D("100.00"), None),
            (None, 2, D("300.00"), None),
            ("Poor fit", 1, D("700.00"), "fit"),
        ]
    )
    assert [(r.label, r.code, r.count, r.lost_arr, r.share) for r in rows] == [
        ("Cost", "cost", 2, D("900.00"), D("0.4500")),
        ("Poor fit", "fit", 1, D("700.00"), D("0.3500")),
        (NO_REASON_LABEL, None, 3, D("400.00"), D("0.2000")),
    ]


def test_coverage_is_lost_arr_with_a_reason_over_all_lost_arr():
    coverage = coverage_of(pareto(CASES))
    # 4,000 + 2,500 + 1,500 = 8,000 of 10,000 covered; 6 of 7 cases.
    assert (coverage.covered_arr, coverage.total_arr, coverage.share) == (D("8000.00"), D("10000.00"), D("0.8000"))
    assert (coverage.covered_count, coverage.total_count) == (6, 7)


def test_coverage_of_nothing_is_undefined_not_zero():
    assert coverage_of(pareto([])).share is None


def test_money_must_not_be_float():
    with pytest.raises(TypeError, match="Decimal"):
        pareto([("Cost", 10.5)])


def test_unknown_ordering_is_refused():
    with pytest.raises(ValueError, match="order_by"):
        pareto(CASES, order_by="label")
