"""Step 0 of the CSV import: the errors and warnings a run collects, and what it returns."""

from dataclasses import dataclass

MAX_ERRORS = 50


@dataclass(frozen=True)
class Issue:
    file: str
    line: int
    column: str | None
    message: str

    def __str__(self):
        where = f"{self.file}, line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class Issues:
    """Collects errors (the first MAX_ERRORS are kept, all are counted) and warnings."""

    def __init__(self) -> None:
        self.errors: list[Issue] = []
        self.error_count = 0
        self.warnings: list[Issue] = []

    def error(self, file, line, column, message):
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(Issue(file, line, column, message))

    def warn(self, file, line, column, message):
        self.warnings.append(Issue(file, line, column, message))


class ImportRejected(Exception):
    """The run had invalid rows: nothing was saved."""

    def __init__(self, issues: Issues):
        self.errors = issues.errors
        self.error_count = issues.error_count
        self.warnings = issues.warnings
        shown = "\n".join(f"  {error}" for error in self.errors)
        more = self.error_count - len(self.errors)
        tail = f"\n  ... and {more} more error(s)" if more else ""
        super().__init__(f"Import rejected, nothing was saved ({self.error_count} error(s)):\n{shown}{tail}")


@dataclass
class ImportResult:
    counts: dict[str, dict[str, int]]  # file name -> {"created", "updated", "unchanged"[, "deleted"]}
    warnings: list[Issue]

    @property
    def changed(self):
        return any(c.get("created") or c.get("updated") or c.get("deleted") for c in self.counts.values())
