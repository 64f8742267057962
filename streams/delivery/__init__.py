"""Delivery: the service that takes jobs (an event for one target) from `<prefix>.deliveries`
and from the retry topics, delivers each through the deliverer of its target's kind, parks
failed deliveries in retry topics until they are due, and dead-letters what is given up.

The router never talks HTTP and never waits for a retry: for an API-destination target it
writes a job to the deliveries topic, and for any target that failed retriably it parks a job
in a retry topic (the record format is streams/jobs.py); this package takes it from there. Its
modules, bottom up: `retries` (an attempt's outcome, what is retried), `deliverer` (the seam
every kind of target implements), `guard` (addresses checked on every connection), `rate`
(each destination's share of its rate limit), `oauth` (tokens, cached), `requests` (an HTTP
request from a job, its destination and its connection), `sender` (one HTTP attempt, its
outcome), `authorizer` (connection states), `http_deliverer`, `kafka_deliverer` and
`function_deliverer` (the kinds), `letters` (dead-letter headers and topics), `offsets` (what
may be committed), `writer` (its writes to Kafka), `service` (the Subsystem).
"""
