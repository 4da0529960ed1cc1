"""The forecast of the current period's GRR and NRR (SPEC section 8).

forecast = the figures measured on today, minus the expected losses of at-risk accounts whose
renewal falls in the rest of the period, minus the ARR of open renewals marked likely to churn.

Settled details (the SPEC is silent; what a finance analyst would expect):
- "The rest of the period": a renewal whose loss would take effect inside it, i.e. a line whose
  last day is on or after today and before the period's last day (a line ending on the last day
  is still counted on it, so its loss belongs to the next period).
- An at-risk account loses its expected loss once, however many of its lines come up; a
  likely-to-churn account loses the ARR of each of its open renewals in the rest of the period
  (lines already renewed are not lost).
- Only the period's cohort (ARR on s-1 above zero) moves NRR and GRR; new customers never do.
- An account cannot lose more than it has today: its ARR today ``b`` falls to ``max(b - loss, 0)``.
  NRR loses that amount; GRR loses ``min(a, b) - min(a, b')``, so a loss that only eats into an
  expansion leaves GRR where it is.

Pure: no ORM; ``outlook.forecasting`` gathers the inputs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .renewals import OPEN

ZERO = Decimal("0")
FOUR = Decimal("0.0001")
AT_RISK, LIKELY = "at_risk", "likely_to_churn"


@dataclass(frozen=True)
class UpcomingRenewal:
    end_date: date
    arr: Decimal
    status: str  # renewed or open (lapsed cannot happen after today)


@dataclass(frozen=True)
class RiskedAccount:
    customer_id: int
    risk: str  # at_risk or likely_to_churn
    expected_loss: Decimal
    renewals: tuple[UpcomingRenewal, ...]
    starting_arr: Decimal  # a = ARR(c, s-1)
    arr_today: Decimal  # b = ARR(c, today)


def in_rest_of_period(renewal: UpcomingRenewal, today: date, period_end: date) -> bool:
    return today <= renewal.end_date < period_end


def expected_loss(account: RiskedAccount, today: date, period_end: date) -> Decimal:
    """What the forecast takes off the account's ARR today (before the cap at that ARR)."""
    upcoming = [r for r in account.renewals if in_rest_of_period(r, today, period_end)]
    if account.risk == AT_RISK:
        return account.expected_loss if upcoming else ZERO
    if account.risk == LIKELY:
        return sum((r.arr for r in upcoming if r.status == OPEN), ZERO)
    return ZERO


@dataclass(frozen=True)
class AccountEffect:
    account: RiskedAccount
    loss: Decimal  # capped at the ARR today
    grr_loss: Decimal
    nrr_loss: Decimal


@dataclass(frozen=True)
class Forecast:
    starting_arr: Decimal
    measured_grr: Decimal | None
    measured_nrr: Decimal | None
    forecast_grr: Decimal | None
    forecast_nrr: Decimal | None
    grr_loss: Decimal
    nrr_loss: Decimal
    effects: tuple[AccountEffect, ...]


def _rate(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    return None if not denominator else (numerator / denominator).quantize(FOUR, rounding=ROUND_HALF_UP)


def forecast(
    starting_arr: Decimal,
    contraction: Decimal,
    churn: Decimal,
    ending_arr: Decimal,
    accounts: Iterable[RiskedAccount],
    today: date,
    period_end: date,
) -> Forecast:
    """Measured and forecast GRR and NRR of a period from its figures measured on ``today``."""
    effects = []
    for account in accounts:
        if account.starting_arr <= 0:
            continue  # not in the cohort: new and reactivated revenue never enter NRR or GRR
        b = account.arr_today
        loss = min(expected_loss(account, today, period_end), b)
        if loss <= 0:
            continue
        after = b - loss
        grr_loss = min(account.starting_arr, b) - min(account.starting_arr, after)
        effects.append(AccountEffect(account, loss, grr_loss, loss))
    grr_kept = starting_arr - contraction - churn
    grr_loss = sum((e.grr_loss for e in effects), ZERO)
    nrr_loss = sum((e.nrr_loss for e in effects), ZERO)
    return Forecast(
        starting_arr,
        _rate(grr_kept, starting_arr),
        _rate(ending_arr, starting_arr),
        _rate(grr_kept - grr_loss, starting_arr),
        _rate(ending_arr - nrr_loss, starting_arr),
        grr_loss,
        nrr_loss,
        tuple(sorted(effects, key=lambda e: (-e.loss, e.account.customer_id))),
    )
