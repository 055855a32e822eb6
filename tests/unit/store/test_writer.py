"""How the writer settles the event loops waiting on a group commit."""

from __future__ import annotations

import asyncio
import threading

import pytest

from modelrouter.errors import StoreUnavailable
from modelrouter.store.writer import _Wakeups


def test_one_wake_up_settles_every_decision_of_a_group() -> None:
    wakeups = _Wakeups()

    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(50)]
        failing = loop.create_future()

        def journal() -> None:  # as the journal's thread does after one fdatasync
            for future in futures:
                wakeups.settle_later(loop, future, None)
            wakeups.settle_later(loop, failing, OSError("disk full"))

        thread = threading.Thread(target=journal)
        thread.start()
        thread.join()
        done = await asyncio.wait_for(asyncio.gather(*futures), timeout=5)
        with pytest.raises(StoreUnavailable, match="disk full"):
            await asyncio.wait_for(failing, timeout=5)
        return done

    assert asyncio.run(main()) == [None] * 50


def test_a_loop_closed_before_its_wake_up_ran_is_not_held() -> None:
    wakeups = _Wakeups()
    gone = asyncio.new_event_loop()
    wakeups.settle_later(gone, gone.create_future(), None)  # scheduled, never run
    gone.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        wakeups.settle_later(loop, future, None)
        await asyncio.wait_for(future, timeout=5)

    asyncio.run(main())
    assert gone not in wakeups._pending
    # And one closed before anything was scheduled on it is refused quietly.
    wakeups.settle_later(gone, asyncio.Future(loop=gone), None)
    assert gone not in wakeups._pending
