"""The router: reads every bus topic, matches events against the rules of their bus, and
sends each match to the rule's targets, at least once.

It runs inside the Faust worker as a subsystem but does its work in a thread of its own with
a batching confluent-kafka consumer, because a Faust agent, at a few thousand events a second
with per-event overhead, tops out far below the router's throughput. One module per job,
each importing only the ones below it:
`delivery` (the seam: the Sink interface, DeliveryError, RetryPolicy), `ledger` (what a
consumed batch owes), `forwarding` (EventBridge's one-hop rule for bus targets),
`kafka_sink` (a Kafka topic as a sink), `clusters` (producers per Kafka cluster),
`destinations` (target ARNs to sinks), `targets` (a target compiled for the hot path),
`outbox` (parked retries and dead letters), `native` (a bus's rules handed to the Rust fast path),
`rules_index` (rules of every bus, updated in place from config changes), `dispatch` (one
batch through match, shape and send), `service` (the consume, dispatch, commit loop).
"""
