"""The definitions a user needs to read the figures (SPEC section 3, in the site's own words).

One text per figure, shown in each figure's tooltip and on the "How figures are computed" page
(``web.views.figures_help``), whose anchors are the keys here.
"""

from django.conf import settings

FIGURE_DEFINITIONS: dict[str, str] = {
    "starting_arr": "ARR on the day before the period's first day, summed over the cohort: the customers paying then.",
    "new_arr": "ARR at the period's end of customers whose first revenue day falls in the period (company only; never in NRR or GRR).",
    "reactivation_arr": "ARR at the period's end of customers that had paid before, paid nothing the day before the period, and pay again at its end (company only).",
    "expansion": "For each cohort customer paying more at the period's end than at its start: the increase (upsell plus cross-sell).",
    "upsell": "Expansion minus cross-sell.",
    "cross_sell": "For each expanding customer: the smaller of its increase and its ARR at the end on products it did not have at the start.",
    "contraction": "For each cohort customer still paying at the end, but less than at the start: the decrease.",
    "churn": "For each cohort customer paying nothing at the period's end: its starting ARR.",
    "ending_arr": "ARR at the period's end of the cohort only: starting + expansion - contraction - churn.",
    "arr_end": "All ARR on the period's last day: the cohort's ending ARR plus new and reactivated ARR.",
    "nrr": "Net revenue retention: the cohort's ending ARR / its starting ARR. Expansion counts, so it can exceed 100%.",
    "grr": "Gross revenue retention: (starting ARR - contraction - churn) / starting ARR. At most 100%.",
    "logo_retention": "1 - churned logos / logos at start.",
    "logos_start": "Customers in the cohort: paying on the day before the period began.",
    "logos_churned": "Cohort customers paying nothing at the period's end.",
}

TOPICS = [
    (
        "periods",
        "Periods and the cohort",
        "A period is a calendar month, quarter or year (the fiscal year starts in month {fiscal}). Revenue changes at "
        "the start of a day: a period starts with the ARR of the day before its first day and ends with the ARR of its "
        "last day. The cohort is the customers paying on that day before. A trailing-twelve-months (TTM) figure at a "
        "month compares the ARR before the first day of the month eleven months earlier with the ARR at that month's "
        "end, point to point (never a product of monthly rates): a customer that leaves and comes back inside it is "
        "retained. The current, unfinished period is measured on today and marked partial. A rate whose starting ARR "
        "is zero is undefined and shows a dash.",
    ),
    (
        "attribution",
        "Who a figure belongs to",
        "A cohort customer's figures for a period belong to the owner (CSM or account manager) assigned to it on the "
        "period's first day, and to that owner's team that day. Later transfers do not move history. Customers with no "
        "owner that day are 'unassigned'.",
    ),
    (
        "cases",
        "Churn cases beside the figures",
        "A churn case is a day on which a customer's ARR falls to zero; a contraction case a day on which it falls but "
        "stays above zero. A case belongs to the owners of the day before the drop. So a period's cases and its churn "
        "and contraction figures can differ: an account may join the book after the period began (its loss is not in "
        "this book's figure), come back before the period's end (no loss point to point), fall twice (counted once, "
        "start to end), or be a customer new in the period (not in the cohort). An account of the book may also drop "
        "after moving to another book (in the figure, its case elsewhere). Pages that show both say, for each case, "
        "whether and how much it counts, and add up the difference.",
    ),
    (
        "reason-coverage",
        "Reason coverage",
        "Lost ARR of the churn and contraction cases (not void) that have a primary reason, divided by the lost ARR of "
        "all of them, over the cases and dates printed beside it. The reason queue and the Pareto compute it with the "
        "same function over the same cases.",
    ),
    (
        "low-confidence",
        "Low-confidence points",
        "A trend point whose cohort has fewer than {low} customers is drawn hollow and marked low confidence: a rate of "
        "two or three customers swings wildly. Such points are left out of the chart's axis range so they do not "
        "flatten everything else.",
    ),
    (
        "money",
        "Money and rounding",
        "Amounts are exact until shown: money is rounded to cents and rates to four decimals, both half up. ARR in "
        "other currencies is converted at the rate in force on the period's first day.",
    ),
]


def topics() -> list[tuple[str, str, str]]:
    values = {"fiscal": settings.FISCAL_YEAR_START_MONTH, "low": settings.LOW_CONFIDENCE_LOGOS}
    return [(anchor, title, text.format(**values)) for anchor, title, text in TOPICS]
