"""Kafka Connect-style connectors that run inside busbar's workers.

A connector is a class plus a config dict: webhook sources (GitHub, Stripe, any HMAC signer)
that turn signed HTTP requests into events on a bus, and a mirror that forwards a bus to a
bus on another cluster. They are configured with Kafka Connect's REST API and reach the rest
of busbar only through Kafka topics and the configuration model.
"""
