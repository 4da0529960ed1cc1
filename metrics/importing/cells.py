"""The cell parsers of the CSV import: one cleaned value per cell, or ValueError with the reason."""

import re
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import cast

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from .. import currency as money
from ..models import ContractLine

DATE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")
# Digits with optional thousands separators in the right places, optional decimals.
AMOUNT_FORMAT = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
CURRENCY_FORMAT = re.compile(r"[A-Za-z]{3}")
MAX_AMOUNT = Decimal(10) ** (ContractLine._meta.get_field("arr").max_digits - 2)


@lru_cache(maxsize=65536)  # a few thousand days recur on every file: parse each, share the objects
def parse_date(value: str) -> date:
    if not DATE_FORMAT.fullmatch(value):
        raise ValueError(f"'{value}' is not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a real calendar date") from None


@lru_cache(maxsize=65536)  # amounts recur too (price lists)
def parse_arr(value: str) -> Decimal:
    if not AMOUNT_FORMAT.fullmatch(value):
        raise ValueError(f"'{value}' is not an amount; write it like 1234.50 or 1,234.50")
    amount = Decimal(value.replace(",", ""))
    if amount < 0:
        raise ValueError(f"ARR cannot be negative ({value})")
    if cast(int, amount.as_tuple().exponent) < -2:  # an int: AMOUNT_FORMAT allows no NaN or Infinity
        raise ValueError(f"'{value}' has more than 2 decimal places")
    if amount >= MAX_AMOUNT:
        raise ValueError(f"'{value}' is too large")
    return amount.copy_abs().quantize(Decimal("0.01"))  # copy_abs: '-0' is zero


@lru_cache(maxsize=4096)  # the same owners recur on thousands of rows
def parse_email(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(f"'{value}' is not an email address") from None
    return value.lower()


@lru_cache(maxsize=1024)
def parse_currency(value: str) -> str:
    """An ISO 4217 code, case-insensitive (``eur`` is EUR)."""
    if not CURRENCY_FORMAT.fullmatch(value):
        raise ValueError(f"'{value}' is not a three-letter currency code such as USD")
    return money.parse_code(value)


def parse_rate(value: str) -> Decimal:
    return money.parse_rate(value)


def choice(choices, what: str) -> Callable[[str], str]:
    allowed = {value: value for value in choices.values}  # one copy of each, shared by every row

    def parse(value: str) -> str:
        if value.lower() not in allowed:
            raise ValueError(f"'{value}' is not a valid {what}; use one of: {', '.join(allowed)}")
        return allowed[value.lower()]

    return parse


def text(model, field_name: str, recurs=False) -> Callable[[str], str]:
    """``recurs``: the same value is on many rows (a product, a customer's lines): keep one copy."""
    max_length = model._meta.get_field(field_name).max_length

    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        return sys.intern(value) if recurs else value

    return parse
