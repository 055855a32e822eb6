"""What an import did with each thing it read: kept as it is, converted onto
one of our concepts, dropped (with the reason), or skipped (could not be
imported). One line each, for the CLI's table, its ``--json`` and the HTTP
import's answer. A line never repeats a dropped value: it may be a secret."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from modelrouter.errors import CatalogError

__all__ = ["OUTCOMES", "ImportReport", "Outcome", "ReportBuilder", "ReportLine"]

Outcome = Literal["kept", "converted", "dropped", "skipped"]
OUTCOMES: tuple[Outcome, ...] = ("kept", "converted", "dropped", "skipped")


@dataclass(frozen=True, slots=True)
class ReportLine:
    outcome: Outcome
    subject: str  # what it is about: "router_settings.num_retries", "model_list[2] (gpt-4o)"
    detail: str  # what became of it, and why

    def to_dict(self) -> dict[str, str]:
        return {"outcome": self.outcome, "subject": self.subject, "detail": self.detail}


@dataclass(frozen=True)
class ImportReport:
    lines: tuple[ReportLine, ...] = ()

    def of(self, outcome: Outcome) -> tuple[ReportLine, ...]:
        return tuple(line for line in self.lines if line.outcome == outcome)

    def counts(self) -> dict[str, int]:
        counted = Counter(line.outcome for line in self.lines)
        return {outcome: counted[outcome] for outcome in OUTCOMES}

    def to_dict(self) -> dict[str, Any]:
        return {"counts": self.counts(), "lines": [line.to_dict() for line in self.lines]}


@dataclass
class ReportBuilder:
    """Collects the lines of one import. ``strict``: anything that would be
    skipped refuses the whole file instead."""

    source: str
    strict: bool = False
    lines: list[ReportLine] = field(default_factory=list)

    def kept(self, subject: str, detail: str) -> None:
        self.lines.append(ReportLine("kept", subject, detail))

    def converted(self, subject: str, detail: str) -> None:
        self.lines.append(ReportLine("converted", subject, detail))

    def dropped(self, subject: str, detail: str) -> None:
        self.lines.append(ReportLine("dropped", subject, detail))

    def skipped(self, subject: str, detail: str, error: CatalogError | None = None) -> None:
        if self.strict:
            raise error or CatalogError(
                f"{detail} (strict: the file is refused)", source=self.source, entry=subject
            )
        self.lines.append(ReportLine("skipped", subject, detail))

    def build(self) -> ImportReport:
        return ImportReport(tuple(self.lines))
