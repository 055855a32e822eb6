"""Writing decisions off the hot path, in batches, without losing any.

``submit()`` is what routing calls: it puts the plan on a bounded queue and
returns; the background thread serialises plans into rows (their snapshots
are built lazily, so that cost stays off the hot path) and commits them in
batches. While the database is unreachable, batches go to an append-only
spool file (JSON lines, flushed to disk); the spool is written to the database
when it answers again, and on the next start. Inserts skip ids already stored,
so a batch written twice is stored once.

Back-pressure: when the queue is full, ``submit()`` appends the row to the
spool itself instead of waiting, so routing never blocks on the database and
never drops an acknowledged record; the writer drains the spool as it catches
up.

What "acknowledged" covers: once ``submit()`` returns, the record survives a
database outage and an orderly ``close()``. A hard crash of the process can
lose what is still in the queue (at most ``batch_interval`` of decisions);
call ``flush()`` where that matters.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelrouter.errors import StoreUnavailable
from modelrouter.store.repository import Repository, decision_row
from modelrouter.types import RoutingPlan

__all__ = ["DecisionWriter", "WriterStats"]


@dataclass
class WriterStats:
    acknowledged: int = 0
    written: int = 0  # rows the database newly stored
    spooled: int = 0  # rows that went to the spool file
    batches: int = 0
    outages: int = 0
    rejected: int = 0  # rows the database refused (kept in the rejected file)
    last_error: str | None = None


class DecisionWriter:
    def __init__(
        self,
        repository: Repository,
        spool_path: Path,
        *,
        batch_size: int = 500,
        batch_interval: float = 0.05,
        queue_size: int = 20_000,
        retry_interval: float = 0.5,
    ) -> None:
        self.repository = repository
        self.spool_path = spool_path
        self.batch_size = batch_size
        self.batch_interval = batch_interval
        self.retry_interval = retry_interval
        self.stats = WriterStats()
        self._queue: queue.Queue[RoutingPlan] = queue.Queue(maxsize=queue_size)
        self._spool_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._database_down_since: float | None = None

    # -- the hot path ---------------------------------------------------------------

    def submit(self, plan: RoutingPlan) -> None:
        if plan.inputs is None:
            raise ValueError(f"decision {plan.decision_id} carries no snapshot to store")
        with self._stats_lock:
            self.stats.acknowledged += 1
        try:
            self._queue.put_nowait(plan)
        except queue.Full:
            self._spool([decision_row(plan)])

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> DecisionWriter:
        """Write what an earlier run left in the spool, then start the writer thread."""
        self.spool_path.parent.mkdir(parents=True, exist_ok=True)
        self._drain_spool()
        self._thread = threading.Thread(target=self._run, name="decision-writer", daemon=True)
        self._thread.start()
        return self

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything submitted so far is in the database or the spool."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.005)
        return False

    def close(self, timeout: float = 30.0) -> None:
        self.flush(timeout)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._drain_spool()

    def __enter__(self) -> DecisionWriter:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the writer thread ----------------------------------------------------------------

    def _take_batch(self) -> list[RoutingPlan]:
        batch: list[RoutingPlan] = []
        try:
            batch.append(self._queue.get(timeout=self.batch_interval))
        except queue.Empty:
            return batch
        deadline = time.monotonic() + self.batch_interval
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while not self._stop.is_set():
            plans = self._take_batch()
            batch = [decision_row(plan) for plan in plans]
            if self._database_down_since is not None:
                if batch:
                    self._spool(batch)
                    self._done(batch)
                if time.monotonic() - self._database_down_since >= self.retry_interval:
                    self._drain_spool()
                continue
            if not batch:
                if self.spool_path.exists() and self.spool_path.stat().st_size:
                    self._drain_spool()
                continue
            self._write(batch)
            self._done(batch)

    def _done(self, batch: list[Any]) -> None:
        for _ in batch:
            self._queue.task_done()

    def _write(self, batch: list[dict[str, Any]]) -> None:
        try:
            written = self.repository.save_decisions(batch)
        except StoreUnavailable:
            self._went_down()
            self._spool(batch)
            return
        except Exception as exc:  # the thread must live, no row may vanish
            written = self._isolate(batch, exc)
        with self._stats_lock:
            self.stats.written += written
            self.stats.batches += 1

    def _isolate(self, batch: list[dict[str, Any]], error: Exception) -> int:
        """A batch the database refused: write its rows one by one, and keep the
        ones it still refuses in the rejected file, with the reason."""
        written = 0
        for row in batch:
            try:
                written += self.repository.save_decisions([row])
            except StoreUnavailable:
                self._went_down()
                self._spool([row])
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"[:2000]
                self._append(self.rejected_path, [{"row": row, "error": reason}])
                with self._stats_lock:
                    self.stats.rejected += 1
                    self.stats.last_error = reason
        with self._stats_lock:
            self.stats.last_error = self.stats.last_error or f"{type(error).__name__}: {error}"
        return written

    def _went_down(self) -> None:
        self._database_down_since = time.monotonic()
        with self._stats_lock:
            self.stats.outages += 1

    # -- the spool -------------------------------------------------------------------------

    @property
    def rejected_path(self) -> Path:
        return self.spool_path.with_name(self.spool_path.name + ".rejected")

    def _append(self, path: Path, rows: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)
        with self._spool_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as spool:
                spool.write(data)
                spool.flush()
                os.fsync(spool.fileno())

    def _spool(self, rows: list[dict[str, Any]]) -> None:
        self._append(self.spool_path, rows)
        with self._stats_lock:
            self.stats.spooled += len(rows)

    def _drain_spool(self) -> None:
        """Write the spool to the database, then empty it. A row written twice
        (a crash between the insert and the truncate) is stored once."""
        with self._spool_lock:
            if not self.spool_path.exists():
                self._database_down_since = None
                return
            rows = []
            for line in self.spool_path.read_text(encoding="utf-8").splitlines():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    # Only a write cut short by a crash, before its submit returned, is torn.
                    continue
            try:
                for start in range(0, len(rows), self.batch_size):
                    written = self.repository.save_decisions(rows[start : start + self.batch_size])
                    with self._stats_lock:
                        self.stats.written += written
            except StoreUnavailable:
                if self._database_down_since is None:
                    self._went_down()
                else:
                    self._database_down_since = time.monotonic()
                return
            self.spool_path.unlink()
            self._database_down_since = None
