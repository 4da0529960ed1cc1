"""manage.py export_retention: exactly the SPEC section 5 columns and formats, filters applied."""

import csv
import io
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

HEADER = (
    "period_start,period_end,granularity,partial,scope_type,scope_key,role,starting_arr,expansion,"
    "upsell,cross_sell,contraction,churn,ending_arr,nrr,grr,logos_start,logos_churned,new_arr,reactivation_arr,"
    "closed,reported_starting_arr,reported_expansion,reported_upsell,reported_cross_sell,reported_contraction,"
    "reported_churn,reported_ending_arr,reported_nrr,reported_grr,reported_new_arr,reported_reactivation_arr,currency"
)


def export(*args):
    out = io.StringIO()
    call_command("export_retention", *args, stdout=out)
    return out.getvalue()


def test_export_has_the_spec_columns_and_formats(company):
    text = export("--granularity", "year", "--from", "2026-01-01", "--to", "2026-01-01")
    assert text.splitlines()[0] == HEADER
    rows = list(csv.DictReader(io.StringIO(text)))
    company_row = next(r for r in rows if r["scope_type"] == "company")
    assert company_row == {
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "granularity": "year",
        "partial": "true",
        "scope_type": "company",
        "scope_key": "",
        "role": "",
        "starting_arr": "5300.00",
        "expansion": "500.00",
        "upsell": "500.00",
        "cross_sell": "0.00",
        "contraction": "0.00",
        "churn": "4000.00",
        "ending_arr": "1800.00",
        "nrr": "0.3396",
        "grr": "0.2453",
        "logos_start": "3",
        "logos_churned": "1",
        "new_arr": "0.00",
        "reactivation_arr": "0.00",
        "closed": "false",
        **{
            column: "" for column in HEADER.split(",") if column.startswith("reported_")
        },  # not closed: no reported figures
        "currency": "USD",
    }
    owner = next(r for r in rows if r["scope_type"] == "owner" and r["scope_key"] == "bob@example.com")
    assert owner["role"] == "csm" and owner["new_arr"] == "" and owner["reactivation_arr"] == ""
    assert {r["period_start"] for r in rows} == {"2026-01-01"} and {r["granularity"] for r in rows} == {"year"}


def test_undefined_rates_are_empty_and_scope_filter_applies(company):
    rows = list(csv.DictReader(io.StringIO(export("--scope-type", "company", "--granularity", "month"))))
    first = rows[0]
    assert first["period_start"] == "2025-01-01" and first["starting_arr"] == "0.00"
    assert first["nrr"] == "" and first["grr"] == ""  # starting ARR zero: undefined, never 0
    assert (rows[-1]["period_start"], rows[-1]["partial"]) == (date(2026, 11, 1).isoformat(), "true")
    assert {r["scope_type"] for r in rows} == {"company"}


def test_a_bad_date_is_a_clear_error(company):
    with pytest.raises(CommandError, match="'2026-13-01' is not a date"):
        export("--from", "2026-13-01")


def test_the_last_column_names_the_reporting_currency(company, settings):
    settings.REPORTING_CURRENCY = "EUR"
    text = export("--granularity", "year", "--scope-type", "company")
    assert text.splitlines()[0].endswith(",reported_reactivation_arr,currency")
    assert {row["currency"] for row in csv.DictReader(io.StringIO(text))} == {"EUR"}
