"""How far estimates fall from actual costs: each settled outcome's expected
and worst-case estimate beside its exact cost, summarised per alias
(``modelrouter cost calibration``). In process memory, bounded, thread-safe.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from modelrouter.money import exact_str

__all__ = ["AliasCalibration", "CalibrationLog", "CalibrationRecord", "summarize"]


@dataclass(frozen=True, slots=True)
class CalibrationRecord:
    model: str
    expected_usd: Decimal
    worst_case_usd: Decimal | None
    actual_usd: Decimal


@dataclass(frozen=True, slots=True)
class AliasCalibration:
    model: str
    count: int
    mean_abs_error_pct: Decimal
    bias_pct: Decimal  # positive: estimates run high
    worst_case_exceeded: int

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "count": self.count,
            "mean_abs_error_pct": exact_str(self.mean_abs_error_pct),
            "bias_pct": exact_str(self.bias_pct),
            "worst_case_exceeded": self.worst_case_exceeded,
        }


def summarize(records: Iterable[CalibrationRecord]) -> list[AliasCalibration]:
    """Estimate error by requested name. Errors are relative to the actual
    cost; free requests (actual 0) count only towards the worst-case check."""
    grouped: dict[str, list[CalibrationRecord]] = defaultdict(list)
    for record in records:
        grouped[record.model].append(record)
    hundredth = Decimal("0.01")
    out = []
    for model in sorted(grouped):
        rows = grouped[model]
        errors: list[Decimal] = [
            (r.expected_usd - r.actual_usd) / r.actual_usd * 100 for r in rows if r.actual_usd
        ]
        count = len(errors)
        zero = Decimal(0)
        out.append(
            AliasCalibration(
                model=model,
                count=len(rows),
                mean_abs_error_pct=(sum((abs(e) for e in errors), zero) / count).quantize(hundredth)
                if count
                else zero,
                bias_pct=(sum(errors, zero) / count).quantize(hundredth) if count else zero,
                worst_case_exceeded=sum(
                    1
                    for r in rows
                    if r.worst_case_usd is not None and r.actual_usd > r.worst_case_usd
                ),
            )
        )
    return out


class CalibrationLog:
    """The most recent estimate-against-actual pairs, for ``calibration()``."""

    def __init__(self, limit: int = 10_000) -> None:
        self._records: deque[CalibrationRecord] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, record: CalibrationRecord) -> None:
        with self._lock:
            self._records.append(record)

    def summary(self) -> list[AliasCalibration]:
        with self._lock:
            records = list(self._records)
        return summarize(records)
