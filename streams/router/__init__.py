"""The router: reads every bus topic, matches events against the rules of their bus, and
produces each match to the rule's targets, at least once.

It runs inside the Faust worker as a mode Service but does its work in a thread of its own
with a batching confluent-kafka consumer and producer, because a Faust agent tops out far
below the router's throughput bar (see DESIGN.md, "Faust"). One module per job:
`clusters` (producers per Kafka cluster), `targets` (a target compiled for the hot path),
`rules_index` (rules of every bus, updated in place from config changes), `native` (a bus's
rules handed to the Rust fast path that checks and matches raw records), `outbox`
(acknowledgement, retry and dead-lettering of produced records), `dispatch` (one batch of
events through match, shape and produce), `service` (the consume, dispatch, commit loop).
"""
