"""The consumer's offset commits off the critical path (``OffsetCommitter``), against a fake
aiokafka consumer: explicit next offsets per partition, one commit in flight, later batches
coalesced, a failed commit kept, revoked partitions dropped, a drain that waits for the batch in
flight. The real broker: tests/runtime/test_offsets_kafka.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from services.runtime.consumer import OffsetCommitter

T = "test.offsets"


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int


def recs(partition: int, first: int, last: int, topic: str = T) -> list[Rec]:
    return [Rec(topic, partition, o) for o in range(first, last + 1)]


class FakeConsumer:
    """What the committer uses of aiokafka's consumer: ``assignment()`` and ``commit(offsets)``."""

    def __init__(self, *partitions: int) -> None:
        self.assigned = {TopicPartition(T, p) for p in partitions}
        self.commits: list[dict[TopicPartition, int]] = []
        self.gate: asyncio.Event | None = None  # when set, a commit waits for it
        self.fail = 0                             # the next ``fail`` commits raise
        self.in_flight = 0
        self.most_in_flight = 0
        self.started = asyncio.Event()

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        assert offsets and all(isinstance(v, int) for v in offsets.values())
        assert set(offsets) <= self.assigned
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.started.set()
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.fail:
                self.fail -= 1
                raise CommitFailedError("the group rebalanced")
            self.commits.append(dict(offsets))
        finally:
            self.in_flight -= 1


def tp(p: int) -> TopicPartition:
    return TopicPartition(T, p)


async def until(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    end = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < end, "condition not met in time"
        await asyncio.sleep(0.005)


@pytest.fixture
async def committer():  # type: ignore[no-untyped-def]
    c = OffsetCommitter("svc.group")
    yield c
    await c.close()


async def test_a_batch_commits_its_explicit_next_offsets_per_partition(committer: OffsetCommitter) -> None:
    consumer = FakeConsumer(0, 1, 2)
    committer.begin_batch()
    committer.end_batch(consumer, recs(0, 10, 14) + recs(1, 3, 3))
    await until(lambda: len(consumer.commits) == 1)
    # last offset + 1 of each partition in the batch; partition 2 (not in it) untouched
    assert consumer.commits == [{tp(0): 15, tp(1): 4}]
    assert committer.pending == {}


async def test_one_commit_in_flight_and_later_batches_coalesced(committer: OffsetCommitter) -> None:
    consumer = FakeConsumer(0, 1)
    consumer.gate = asyncio.Event()
    committer.end_batch(consumer, recs(0, 0, 9))
    await asyncio.wait_for(consumer.started.wait(), 5)  # the first commit is in flight, held
    for first in (10, 20, 30):  # three more batches are handled meanwhile
        committer.begin_batch()
        committer.end_batch(consumer, recs(0, first, first + 9) + recs(1, first, first + 1))
    await asyncio.sleep(0.05)
    assert consumer.most_in_flight == 1 and consumer.commits == []
    consumer.gate.set()
    await until(lambda: len(consumer.commits) == 2)
    # the three later batches went out as ONE commit, with the newest offsets
    assert consumer.commits == [{tp(0): 10}, {tp(0): 40, tp(1): 32}]
    assert consumer.most_in_flight == 1


async def test_a_failed_commit_keeps_its_offsets_for_the_next_attempt(committer: OffsetCommitter) -> None:
    consumer = FakeConsumer(0, 1)
    consumer.fail = 1
    committer.end_batch(consumer, recs(0, 0, 4) + recs(1, 0, 0))
    await until(lambda: consumer.fail == 0)
    await until(lambda: not committer._lock.locked())
    assert consumer.commits == [] and committer.pending == {tp(0): 5, tp(1): 1}
    committer.end_batch(consumer, recs(0, 5, 6))  # a newer batch; the older offsets of partition 1 kept
    assert await committer.commit_pending()
    assert consumer.commits[-1] == {tp(0): 7, tp(1): 1}


async def test_offsets_of_revoked_partitions_are_dropped(committer: OffsetCommitter) -> None:
    consumer = FakeConsumer(0, 1)
    consumer.gate = asyncio.Event()
    committer.end_batch(consumer, recs(0, 0, 0))
    await asyncio.wait_for(consumer.started.wait(), 5)
    committer.end_batch(consumer, recs(0, 1, 1) + recs(1, 0, 2))
    consumer.assigned = {tp(0)}  # partition 1 went to another member
    consumer.gate.set()
    await until(lambda: len(consumer.commits) == 2)
    assert consumer.commits == [{tp(0): 1}, {tp(0): 2}]
    assert committer.pending == {}


async def test_drain_lets_the_batch_in_flight_finish_then_commits(committer: OffsetCommitter) -> None:
    consumer = FakeConsumer(0)
    consumer.gate = asyncio.Event()
    committer.end_batch(consumer, recs(0, 0, 0))
    await asyncio.wait_for(consumer.started.wait(), 5)  # a background commit in flight
    committer.begin_batch()  # and a batch being handled

    drained = asyncio.create_task(committer.drain(5))
    await asyncio.sleep(0.05)
    assert not drained.done()
    committer.end_batch(consumer, recs(0, 1, 3))  # the batch's transaction committed
    consumer.gate.set()
    await asyncio.wait_for(drained, 5)
    assert consumer.commits[-1] == {tp(0): 4} and committer.pending == {}


async def test_a_batch_that_did_not_commit_hands_on_no_offsets(committer: OffsetCommitter) -> None:
    consumer = FakeConsumer(0)
    committer.end_batch(consumer, recs(0, 0, 1))
    await until(lambda: len(consumer.commits) == 1)
    committer.begin_batch()
    committer.end_batch()  # failed (nacked): nothing recorded
    await committer.drain(5)
    assert consumer.commits == [{tp(0): 2}] and committer.pending == {}


async def test_a_new_consumer_forgets_the_old_ones_offsets(committer: OffsetCommitter) -> None:
    old, new = FakeConsumer(0), FakeConsumer(0)
    old.gate = asyncio.Event()
    committer.end_batch(old, recs(0, 0, 0))
    await asyncio.wait_for(old.started.wait(), 5)
    committer.end_batch(old, recs(0, 1, 1))
    committer.end_batch(new, recs(0, 5, 5))  # the subscriber restarted with a new consumer
    old.gate.set()
    await until(lambda: len(new.commits) == 1)
    assert old.commits == [{tp(0): 1}] and new.commits == [{tp(0): 6}]


async def test_drain_gives_up_after_its_timeout(committer: OffsetCommitter) -> None:
    consumer = FakeConsumer(0)
    consumer.gate = asyncio.Event()  # the broker never answers
    committer.end_batch(consumer, recs(0, 0, 0))
    await asyncio.wait_for(consumer.started.wait(), 5)
    committer.end_batch(consumer, recs(0, 1, 1))
    await asyncio.wait_for(committer.drain(0.1), 5)
    assert committer.pending == {tp(0): 2}
