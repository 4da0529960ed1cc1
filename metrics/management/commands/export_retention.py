import argparse
import csv
from datetime import date

from django.core.management.base import BaseCommand

from metrics.export import RETENTION_COLUMNS, csv_cell, retention_export_row
from metrics.models import Granularity, RetentionSnapshot, ScopeType
from metrics.vocabulary import ROLES


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date: use YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "Write the retention export (SPEC section 5) as CSV to standard output."

    def add_arguments(self, parser):
        parser.add_argument("--granularity", choices=Granularity.values)
        parser.add_argument("--scope-type", choices=ScopeType.values)
        parser.add_argument("--scope-key")
        parser.add_argument("--role", choices=ROLES)
        parser.add_argument("--from", dest="date_from", type=iso_date, help="first period_start, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", type=iso_date, help="last period_start, YYYY-MM-DD")
        parser.add_argument("--closed", action="store_true", help="only the rows of closed periods")
        parser.add_argument(
            "--restated",
            action="store_true",
            help="only the rows of closed periods whose live figures differ from the reported ones",
        )

    def handle(
        self,
        *args,
        granularity=None,
        scope_type=None,
        scope_key=None,
        role=None,
        date_from=None,
        date_to=None,
        closed=False,
        restated=False,
        **options,
    ):
        from closing.reported import ReportedLookup, closed_filter, restated_filter

        rows = RetentionSnapshot.objects.all()
        filters = {
            "granularity": granularity,
            "scope_type": scope_type,
            "scope_key": scope_key,
            "role": role,
            "period_start__gte": date_from,
            "period_start__lte": date_to,
        }
        rows = rows.filter(**{k: v for k, v in filters.items() if v is not None})
        if closed:
            rows = closed_filter(rows)
        if restated:
            rows = restated_filter(rows)
        closes = ReportedLookup()
        writer = csv.writer(self.stdout, lineterminator="\r\n")  # RFC 4180, as the API
        writer.writerow(RETENTION_COLUMNS)
        for snapshot in rows.order_by(*RetentionSnapshot._meta.ordering).iterator(chunk_size=5000):
            row = retention_export_row(snapshot, closes)
            writer.writerow([csv_cell(row[c]) for c in RETENTION_COLUMNS])
