"""Step 1 of the CSV import: read and validate every file into plain rows (no database)."""

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from .issues import Issues
from .layouts import FILES, FileSpec, validate_row


@dataclass(slots=True)
class Row:
    """One row of a file. A valid row holds its cleaned values as a tuple (``cells``, in the order
    of ``columns``, which its file's rows share): 100,000s of rows, and a tuple takes a third of
    the memory of a dict. ``values`` builds the dict when asked."""

    line: int  # physical line in the file, header = 1
    cells: tuple | None  # cleaned, only the columns the file has; None when the row is invalid
    columns: tuple[str, ...] = ()
    raw: dict | None = None  # an invalid row's stripped cells, to recognise its keys

    @property
    def values(self) -> dict | None:
        return (
            None if self.cells is None else dict(zip(self.columns, self.cells, strict=False))
        )  # a short row is reported, not raised

    def key(self, column: str) -> str:
        """A text cell (name, email, external id), cleaned if the row is valid."""
        if self.cells is None:
            return cast("dict[str, str]", self.raw).get(column) or ""  # an invalid row keeps raw
        return (self.cells[self.columns.index(column)] if column in self.columns else None) or ""


def _decode(path: Path, spec: FileSpec, issues: Issues) -> str | None:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        issues.error(
            spec.filename,
            line,
            _column_at(data, error.start, line),
            f"the file is not UTF-8 (byte 0x{data[error.start]:02x} cannot be read); "
            "save it as UTF-8 (in Excel: 'CSV UTF-8') and import again",
        )
        return None
    nul = data.find(b"\x00")
    if nul >= 0:  # no text column can store it (PostgreSQL refuses it)
        line = data.count(b"\n", 0, nul) + 1
        issues.error(
            spec.filename,
            line,
            _column_at(data, nul, line),
            "contains a NUL character (byte 0x00), which cannot be stored; remove it and import again",
        )
        return None
    return text


def _column_at(data: bytes, offset: int, line: int) -> str | None:
    """Best effort: the header name of the cell holding byte ``offset``."""
    if line == 1:
        return None
    header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8-sig", "replace")]), [])
    line_start = data.rfind(b"\n", 0, offset) + 1
    before = data[line_start:offset].decode("utf-8", "replace")
    index = len(next(csv.reader([before]), [""])) - 1
    return header[index].strip().lower() if 0 <= index < len(header) else None


# A line as io.StringIO(content, newline="") gives it (ends \r\n, \r or \n), without its buffer of
# four bytes a character.
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def read_rows(path: Path, kind: str, issues: Issues) -> list[Row]:
    """Read one file: every row validated, with errors (file, line, column) added to ``issues``."""
    spec = FILES[kind]
    content = _decode(path, spec, issues)
    if content is None:
        return []
    reader = csv.reader(match.group() for match in LINE.finditer(content))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        if not any(header):
            issues.error(spec.filename, 1, None, "the file is empty; it needs a header row")
            return []
        if not _header_ok(header, spec, issues):
            return []
        columns = tuple(column.name for column in spec.columns if column.name in header)  # a valid row's keys
        rows, last_line = [], reader.line_num
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            raw = {
                name: cell.strip() for name, cell in zip(header, cells, strict=False) if name
            }  # lengths checked below
            if len(cells) != len(header):
                issues.error(
                    spec.filename, line, None, f"has {len(cells)} values but the header has {len(header)} columns"
                )
                rows.append(Row(line, None, raw=raw))  # its key still counts as known: no knock-on errors
                continue
            values, errors = validate_row(kind, raw)
            for column, message in errors.items():
                issues.error(spec.filename, line, column, message)
            rows.append(Row(line, tuple(values.values()), columns) if not errors else Row(line, None, raw=raw))
    except csv.Error as error:
        issues.error(spec.filename, reader.line_num, None, f"is not valid CSV ({error})")
        return []
    return rows


def _header_ok(header: list[str], spec: FileSpec, issues: Issues) -> bool:
    known = {column.name for column in spec.columns}
    ok = True
    for name in sorted({n for n in header if header.count(n) > 1 and n}):
        issues.error(spec.filename, 1, name, "this column appears more than once")
        ok = False
    for name in spec.required_columns:
        if name not in header:
            issues.error(spec.filename, 1, name, "this required column is missing")
            ok = False
    for name in header:
        if name and name not in known:
            issues.warn(
                spec.filename,
                1,
                name,
                f"unknown column, ignored (columns are: {', '.join(c.name for c in spec.columns)})",
            )
    return ok


def read_directory(directory) -> tuple[dict[str, list[Row]], Issues]:
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory")
    issues = Issues()
    rows = {
        kind: read_rows(directory / spec.filename, kind, issues)
        for kind, spec in FILES.items()
        if (directory / spec.filename).is_file()
    }
    if not rows:
        raise FileNotFoundError(f"{directory} holds none of: {', '.join(spec.filename for spec in FILES.values())}")
    return rows, issues
