"""What the router learns from reported outcomes: how long replies to each
alias run.

It lives in process memory (thread-safe, bounded) and are read at the
router's boundary, never inside the planner: a learned value that shapes a
decision is written into that decision's snapshot, so replay does not depend
on what was learned since.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from decimal import ROUND_CEILING, Decimal

__all__ = ["InputCorrection", "OutputLearner"]

# Fewer observations than this and the default stands: one long reply is not a habit.
MIN_OBSERVATIONS = 5
WINDOW = 200


class OutputLearner:
    """A moving average of output tokens per requested name (alias or model)."""

    def __init__(self, window: int = WINDOW, min_observations: int = MIN_OBSERVATIONS) -> None:
        self._window = window
        self._min = min_observations
        self._seen: dict[str, deque[int]] = defaultdict(lambda: deque(maxlen=self._window))
        self._lock = threading.Lock()

    def observe(self, name: str, output_tokens: int) -> None:
        with self._lock:
            self._seen[name].append(output_tokens)

    def expected(self, name: str) -> int | None:
        with self._lock:
            seen = self._seen.get(name)
            if seen is None or len(seen) < self._min:
                return None
            # Integer mean, rounded up: estimates should err towards cost.
            return -(-sum(seen) // len(seen))


# An estimate is never scaled by more than this: a provider's count that far
# off means something else is wrong (a wrong model behind the deployment).
MAX_INPUT_SCALE = Decimal(4)


class InputCorrection:
    """How far the offline token estimate of chat messages fell short, per
    requested name: learned from ``context_window_exceeded`` attempts of
    requests whose input was estimated and planned to fit. It only grows."""

    def __init__(self) -> None:
        self._scale: dict[str, Decimal] = {}
        self._lock = threading.Lock()

    def observe_overflow(
        self, name: str, estimated: int, context_window: int, max_output: int | None
    ) -> None:
        if estimated <= 0:
            return
        # The prompt had at least this many tokens: it did not fit beside the output cap.
        needed = Decimal(context_window - (max_output or 0) + 1) / Decimal(estimated)
        wanted = min(max(needed * Decimal("1.02"), Decimal(1)), MAX_INPUT_SCALE)
        wanted = wanted.quantize(Decimal("0.001"), rounding=ROUND_CEILING)
        with self._lock:
            if wanted > self._scale.get(name, Decimal(1)):
                self._scale[name] = wanted

    def scale(self, name: str) -> Decimal | None:
        with self._lock:
            return self._scale.get(name)
