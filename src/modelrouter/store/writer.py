"""Writing decisions to the database off the hot path, without losing one.

``submit()`` hands the plan to the journal (``store/journal.py``) and returns
once the decision is fsynced there (a group commit shared by every request
waiting at that moment); ``acknowledge()`` is the same for the event loop.
Only then may a route answer: a ``kill -9`` after it loses nothing.

A background thread takes the journaled rows and commits them to the
database in batches; inserts skip ids already stored, so a row written twice
(replayed after a crash between its insert and the journal's clean-up) is
stored once. While the database is unreachable nothing is lost and nothing
waits: the rows are in the journal. The writer stops holding them in memory
beyond ``queue_size``; when the database answers again it cuts the journal
and replays every closed segment from disk, then deletes them. At start it
replays what an earlier run left (and the spool file of earlier versions).
Rows the database refuses go to ``<spool>.rejected`` with the reason.
``on_committed`` is told the ids of every batch once the database holds it:
the service then stops holding those plans whole in memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelrouter.errors import StoreUnavailable
from modelrouter.store.journal import Journal
from modelrouter.store.repository import Repository
from modelrouter.types import RoutingPlan

__all__ = ["DecisionWriter", "WriterStats"]

_log = logging.getLogger(__name__)

_Row = tuple[dict[str, Any], int]  # a row and its journal segment
_Settle = tuple["asyncio.Future[None]", BaseException | None]

# Seconds between looks at the queue while a batch fills (see _take_batch).
BATCH_POLL = 0.01


@dataclass
class WriterStats:
    acknowledged: int = 0  # decisions made durable in the journal
    written: int = 0  # rows the database newly stored
    spooled: int = 0  # rows replayed from the journal after an outage or a restart
    batches: int = 0
    outages: int = 0
    rejected: int = 0  # rows the database refused (kept in the rejected file)
    last_error: str | None = None


class _Wakeups:
    """The futures of acknowledged decisions, settled on their event loops:
    one wake-up per loop for all the decisions a group commit made durable,
    not one each (each is a write to the loop's self-pipe, a pass of the loop
    and a callback)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[asyncio.AbstractEventLoop, list[_Settle]] = {}

    def settle_later(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[None],
        error: BaseException | None,
    ) -> None:
        """From the journal's thread."""
        with self._lock:
            waiting = self._pending.get(loop)
            if waiting is not None and not loop.is_closed():
                waiting.append((future, error))  # a wake-up is on its way: it settles this too
                return
            # A loop closed before its wake-up ran would be held here for good.
            for closed in [other for other in self._pending if other.is_closed()]:
                del self._pending[closed]
            self._pending[loop] = [(future, error)]
        try:
            loop.call_soon_threadsafe(self._settle, loop)
        except RuntimeError:  # the loop is closed: nothing waits on it any more
            with self._lock:
                self._pending.pop(loop, None)

    def _settle(self, loop: asyncio.AbstractEventLoop) -> None:
        """On ``loop``."""
        with self._lock:
            waiting = self._pending.pop(loop, [])
        for future, error in waiting:
            if future.done():  # its request was cancelled meanwhile
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(StoreUnavailable(str(error)))


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
        on_committed: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.repository = repository
        # The journal's segments live beside this path; a file at the path
        # itself is the spool of earlier versions, replayed at start.
        self.spool_path = spool_path
        self.batch_size = batch_size
        self.batch_interval = batch_interval
        self.queue_size = queue_size
        self.retry_interval = retry_interval
        self.stats = WriterStats()
        # Told the ids of every batch once the database has it (from the
        # writer's thread): what the service's recent plans stop holding whole.
        self.on_committed = on_committed
        self.journal = Journal(spool_path.parent, spool_path.stem)
        self._rows: queue.SimpleQueue[_Row] = queue.SimpleQueue()
        self._overflow = False  # rows left on disk only, to be replayed
        self._outstanding = 0  # rows queued in memory and not yet stored
        self._stats_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._database_down_since: float | None = None
        self._wakeups = _Wakeups()

    # -- the hot path ---------------------------------------------------------------

    def _enqueue(self, row: dict[str, Any], segment: int) -> None:
        with self._stats_lock:
            self.stats.acknowledged += 1
            if self._database_down_since is not None and self._rows.qsize() >= self.queue_size:
                self._overflow = True  # on disk already: replayed when the database is back
                return
            self._outstanding += 1
        self._rows.put((row, segment))

    def submit(self, plan: RoutingPlan, *, timeout: float = 30.0) -> None:
        """Return once the decision is durable (fsynced in the journal)."""
        if plan.inputs is None:
            raise ValueError(f"decision {plan.decision_id} carries no snapshot to store")
        # A bare lock, held until the journal releases it: waiting and waking
        # happen in C (an Event's wait and set run a condition in Python, once
        # per waiting thread and group commit).
        done = threading.Lock()
        done.acquire()
        failure: list[BaseException] = []

        def durable(row: dict[str, Any] | None, segment: int, error: BaseException | None) -> None:
            if row is not None:
                self._enqueue(row, segment)
            if error is not None:
                failure.append(error)
            done.release()

        self.journal.append(plan, durable)
        if not done.acquire(timeout=timeout):
            raise StoreUnavailable("the decision journal did not answer in time")
        if failure:
            raise StoreUnavailable(str(failure[0]))

    async def acknowledge(self, plan: RoutingPlan) -> None:
        """``submit`` for the event loop: awaits the group commit without
        holding the loop."""
        if plan.inputs is None:
            raise ValueError(f"decision {plan.decision_id} carries no snapshot to store")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def durable(row: dict[str, Any] | None, segment: int, error: BaseException | None) -> None:
            if row is not None:
                self._enqueue(row, segment)
            self._wakeups.settle_later(loop, done, error)

        self.journal.append(plan, durable)
        await done

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> DecisionWriter:
        """Store what an earlier run left, then start the journal and the writer."""
        self.spool_path.parent.mkdir(parents=True, exist_ok=True)
        self._replay_legacy_spool()
        self.journal.start()
        self._replay(self.journal.segments()[-1])
        self._thread = threading.Thread(target=self._run, name="decision-writer", daemon=True)
        self._thread.start()
        return self

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything acknowledged so far is in the database (or,
        while it is unreachable, only in the journal)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            idle = self._outstanding == 0 and not self._overflow
            if idle or self._database_down_since is not None:
                return True
            time.sleep(0.005)
        return False

    def close(self, timeout: float = 30.0) -> None:
        self.journal.close()  # every acknowledged row is now queued
        self.flush(timeout)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._database_down_since is None and self._outstanding == 0 and not self._overflow:
            self.journal.forget_before(10**9)

    def __enter__(self) -> DecisionWriter:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the writer thread ----------------------------------------------------------------

    def _take_batch(self) -> list[_Row]:
        """The rows queued within ``batch_interval`` of the first, at most
        ``batch_size``. After the first row the queue is drained without
        blocking, every ``BATCH_POLL`` seconds: a blocking ``get`` per row
        would wake this thread for every decision, and each wake-up takes the
        interpreter lock from the event loop in the middle of its requests."""
        batch: list[_Row] = []
        try:
            batch.append(self._rows.get(timeout=self.batch_interval))
        except queue.Empty:
            return batch
        deadline = time.monotonic() + self.batch_interval
        while True:
            while len(batch) < self.batch_size:
                try:
                    batch.append(self._rows.get_nowait())
                except queue.Empty:
                    break
            remaining = deadline - time.monotonic()
            if len(batch) >= self.batch_size or remaining <= 0 or self._stop.is_set():
                return batch
            self._stop.wait(min(remaining, BATCH_POLL))

    def _run(self) -> None:
        pending: list[_Row] = []
        while not (self._stop.is_set() and not pending and self._rows.empty()):
            if self._database_down_since is not None:
                if time.monotonic() - self._database_down_since < self.retry_interval:
                    time.sleep(0.01)
                    continue
                if pending and not self._write(pending):
                    continue  # still away
                pending = []
                # Back: whatever was left on disk only is replayed from the journal.
                if self._overflow:
                    self._overflow = False
                    self._replay(self.journal.cut())
                continue
            batch = self._take_batch()
            if batch and not self._write(batch):
                pending = batch  # kept, retried when the database answers

    def _write(self, batch: list[_Row]) -> bool:
        """Store a batch; False (and the outage noted) when the database is away."""
        rows = [row for row, _ in batch]
        try:
            written = self.repository.save_decisions(rows)
        except StoreUnavailable:
            self._went_down()
            return False
        except Exception as exc:  # the thread must live, no row may vanish
            try:
                written = self._isolate(rows, exc)
            except StoreUnavailable:
                self._went_down()
                return False
        self._database_down_since = None
        self.journal.committed(Counter(segment for _, segment in batch))
        self._tell_committed(rows)
        with self._stats_lock:
            self.stats.written += written
            self.stats.batches += 1
            self._outstanding -= len(batch)
        return True

    def _tell_committed(self, rows: list[dict[str, Any]]) -> None:
        """Rows the database holds now (or refused for good: kept in the
        rejected file, never retried)."""
        if self.on_committed is None:
            return
        try:
            self.on_committed([row["id"] for row in rows if "id" in row])
        except Exception:  # the thread must live
            _log.exception("the commit callback failed")

    def _isolate(self, batch: list[dict[str, Any]], error: Exception) -> int:
        """A batch the database refused: write its rows one by one, and keep the
        ones it still refuses in the rejected file, with the reason."""
        written = 0
        for row in batch:
            try:
                written += self.repository.save_decisions([row])
            except StoreUnavailable:
                raise
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"[:2000]
                self._reject(row, reason)
        with self._stats_lock:
            self.stats.last_error = self.stats.last_error or f"{type(error).__name__}: {error}"
        return written

    def _reject(self, row: dict[str, Any], reason: str) -> None:
        line = json.dumps({"row": row, "error": reason}, separators=(",", ":")) + "\n"
        with self.rejected_path.open("a", encoding="utf-8") as rejected:
            rejected.write(line)
        with self._stats_lock:
            self.stats.rejected += 1
            self.stats.last_error = reason

    def _went_down(self) -> None:
        if self._database_down_since is None:
            with self._stats_lock:
                self.stats.outages += 1
        self._database_down_since = time.monotonic()

    # -- replay --------------------------------------------------------------------------

    @property
    def rejected_path(self) -> Path:
        return self.spool_path.with_name(self.spool_path.name + ".rejected")

    def _replay(self, below: int) -> None:
        """Store every row of the journal's closed segments (those below
        ``below``), then delete them. Rows queued in memory from those segments
        are stored twice at most, once: inserts skip ids already stored."""
        for segment in self.journal.segments():
            if segment >= below:
                continue
            rows = list(self.journal.read(segment))
            for start in range(0, len(rows), self.batch_size):
                chunk = rows[start : start + self.batch_size]
                while True:
                    try:
                        written = self.repository.save_decisions(chunk)
                        break
                    except StoreUnavailable:
                        # Away again: what is left stays in the journal for later.
                        self._went_down()
                        self._overflow = True
                        return
                    except Exception as exc:
                        written = self._isolate(chunk, exc)
                        break
                self._tell_committed(chunk)
                with self._stats_lock:
                    self.stats.written += written
                    self.stats.spooled += len(chunk)
        self.journal.forget_before(below)

    def _replay_legacy_spool(self) -> None:
        if not self.spool_path.exists():
            return
        rows = []
        for line in self.spool_path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        for start in range(0, len(rows), self.batch_size):
            self.repository.save_decisions(rows[start : start + self.batch_size])
        self.spool_path.unlink()
