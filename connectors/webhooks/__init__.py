"""Webhook sources: signed HTTP requests from SaaS platforms become events on a bus."""
