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

__all__ = ["OutputLearner"]

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
