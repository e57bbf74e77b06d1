"""Concurrent requests share readings of the change counters (core.changes.SharedCounterReads),
but none gets a reading that began before it asked: what was committed before a request
arrived is always in its answer."""

from __future__ import annotations

import asyncio
import threading

import pytest

from silkguard.core.changes import SharedCounterReads


class _Store:
    """A counter whose readings can be held open (begun, not yet answered)."""

    def __init__(self) -> None:
        self.value = 0
        self.began = threading.Semaphore(0)  # released when a reading begins
        self.gate = threading.Event()  # set: readings answer
        self.gate.set()
        self.fail: Exception | None = None

    def read(self) -> dict[str, int]:
        seen = self.value  # what a statement begun now would see
        self.began.release()
        assert self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        return {"principals": seen}


async def _held(store: _Store, reads: SharedCounterReads) -> asyncio.Future[dict[str, int]]:
    """A request whose reading has begun and is held open (until ``store.gate`` is set)."""
    store.gate.clear()
    first = asyncio.ensure_future(reads.get())
    while not store.began.acquire(blocking=False):  # without blocking the loop
        await asyncio.sleep(0.001)
    return first


def test_alone_each_request_reads() -> None:
    store = _Store()
    reads = SharedCounterReads(store.read)

    async def main() -> list[int]:
        seen = []
        for value in range(3):
            store.value = value
            seen.append((await reads.get())["principals"])
        return seen

    assert asyncio.run(main()) == [0, 1, 2]
    assert reads.readings == 3


def test_requests_that_ask_during_a_reading_share_the_next_one() -> None:
    store = _Store()
    reads = SharedCounterReads(store.read)

    async def main() -> list[int]:
        first = await _held(store, reads)
        store.value = 7  # committed after the first reading began, before the others asked
        others = [asyncio.ensure_future(reads.get()) for _ in range(20)]
        await asyncio.sleep(0.01)
        store.gate.set()
        return [(await t)["principals"] for t in (first, *others)]

    seen = asyncio.run(main())
    # the first request's reading began before the write; every later one sees it
    assert seen == [0] + [7] * 20
    assert reads.readings == 2


def test_a_failed_reading_fails_its_requests_and_the_next_reads_again() -> None:
    store = _Store()
    reads = SharedCounterReads(store.read)

    async def main() -> int:
        store.fail = RuntimeError("the database went away")
        waiting = [asyncio.ensure_future(reads.get()) for _ in range(5)]
        results = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results), results
        store.fail = None
        store.value = 3
        return (await reads.get())["principals"]

    assert asyncio.run(main()) == 3


def test_a_request_that_gives_up_does_not_stop_the_others() -> None:
    store = _Store()
    reads = SharedCounterReads(store.read)

    async def main() -> list[int]:
        first = await _held(store, reads)
        gone, stays = asyncio.ensure_future(reads.get()), asyncio.ensure_future(reads.get())
        await asyncio.sleep(0)
        gone.cancel()  # a client that disconnected
        store.gate.set()
        with pytest.raises(asyncio.CancelledError):
            await gone
        return [(await first)["principals"], (await stays)["principals"]]

    assert asyncio.run(main()) == [0, 0]


def test_a_new_event_loop_is_served_after_the_old_one_closed() -> None:
    """Tests start apps on several loops in turn (Starlette's TestClient makes one per
    client): a loop that closed while nothing was waiting leaves nothing behind."""
    store = _Store()
    reads = SharedCounterReads(store.read)
    for value in (1, 2):
        store.value = value
        assert asyncio.run(reads.get()) == {"principals": value}
    assert reads.readings == 2
