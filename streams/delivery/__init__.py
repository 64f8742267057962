"""HTTP delivery: the service that sends what the router put on `<prefix>.deliveries` to API
destinations, and parks failed deliveries in retry topics until they are due.

The router never talks HTTP: for an API-destination target it writes a delivery record (the
payload, the target as configured, the rule) to the deliveries topic, and this package takes it
from there. Its modules, bottom up: `jobs` (the delivery record and its retry bookkeeping),
`retries` (what is retried, when, in which retry topic), `guard` (addresses checked on every
connection), `rate` (each destination's share of its rate limit), `oauth` (tokens, cached),
`requests` (an HTTP request from a delivery, its destination and its connection), `sender`
(one attempt, its outcome), `offsets` (what may be committed), `service` (the Subsystem).
"""
