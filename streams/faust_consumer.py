"""Faust's Kafka consumer, made to reread what it dropped from partitions that have no committed
offset, and never to commit past a record still being handled.

Faust drops records that reach it while its group rebalances: a fetch still waiting when the
rebalance starts returns records of the newly assigned partitions while the flow is stopped,
and Faust throws them away, counting on seeking every partition back to its committed offset
before the flow resumes. aiokafka's seek to the committed offset does nothing for a partition
that has none (nothing committed yet, or 0), so there the consumer's position stays past the
dropped records and they are never delivered: the first events of a new function's topic, or
those a killed worker had in flight before anything was committed, were lost that way. A
partition without a committed offset is sought to its first offset here, as the group's
`auto_offset_reset` (earliest) means it to be read; a record read twice is handled at least
once, as after any rebalance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from faust.transport.drivers import aiokafka
from faust.types import TP


class RewindingConsumer(aiokafka.Consumer):
    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        changelogs = self.app.tables.changelog_topics  # their recovery seeks them itself
        unread = [tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs]
        if unread:
            await self.seek_wait(dict(await self.earliest_offsets(*unread)))
        return committed

    def _filter_committable_offsets(self, tps: Iterable[TP]) -> dict[TP, int]:
        """Faust commits the run of acknowledged offsets that starts at the lowest acknowledged
        one, even with an earlier record still being handled: it checks nothing while the
        partition has no committed offset, and lets a gap of one pass after one. Function
        invocations finish out of order, so a worker killed then would lose the invocation still
        running. Nothing is committed here past a record delivered and not yet acknowledged.
        The records in hand are looked through once per commit, not once per partition."""
        first_pending: dict[TP, int] = {}
        for message in list(self._unacked_messages):
            tp, offset = message.tp, message.offset
            committed = self._committed_offset[tp]
            if (committed is None or offset >= committed) and offset < first_pending.get(tp, offset + 1):
                first_pending[tp] = offset
        commit = {}
        for tp in tps:
            offset = self._settled_offset(tp, first_pending.get(tp))
            if offset is not None and self._should_commit(tp, offset):
                commit[tp] = offset
        return commit

    def _settled_offset(self, tp: TP, first_pending: int | None) -> int | None:
        if first_pending is None:
            return self._new_offset(tp)
        acked = self._acked[tp]
        if not acked or min(acked) > first_pending:
            return None  # nothing settled below the first record in hand: nothing to commit yet
        offset = self._new_offset(tp)
        return None if offset is None else min(offset, first_pending)


class RewindingTransport(aiokafka.Transport):
    """Faust's aiokafka transport with the consumer above (`app.transport = RewindingTransport(...)`)."""

    Consumer = RewindingConsumer
