"""CSV output: the same rows and columns as the JSON, streamed so memory stays flat.

List views hand a lazily iterated queryset to ``csv_response``; rows are formatted by the view's
serializer (as for JSON) and written in chunks, never collected. ``CSVRenderer`` makes
``?format=csv`` a known format and renders what is not a list: one object or an error body.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

from metrics.export import csv_cell

ROWS_PER_CHUNK = 500


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value):
        return value


def csv_lines(columns: list[str], rows: Iterable[dict]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    chunk = []
    for row in rows:
        chunk.append(writer.writerow(map(csv_cell, map(row.get, columns))))
        if len(chunk) >= ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def csv_response(columns: list[str], rows: Iterable[dict], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(columns, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _flat(value):
    """Error bodies list their messages; one cell holds them all."""
    return "; ".join(str(item) for item in value) if isinstance(value, (list, tuple)) else value


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        rows = data if isinstance(data, list) else [data]
        columns = list(rows[0].keys()) if rows and isinstance(rows[0], dict) else ["detail"]
        rows = [{k: _flat(v) for k, v in row.items()} if isinstance(row, dict) else {"detail": row} for row in rows]
        return "".join(csv_lines(columns, rows)).encode(self.charset)
