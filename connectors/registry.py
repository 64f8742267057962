"""The connector classes a worker knows, by full class name and by short alias.

`connector.class` may be either, as in Kafka Connect (`GitHubWebhook` or
`connectors.webhooks.github.GitHubWebhook`); records keep what the user wrote.
"""

from __future__ import annotations

from typing import Any

from connectors.mirror import Mirror
from connectors.plugin import Connector
from connectors.webhooks.github import GitHubWebhook
from connectors.webhooks.hmac_webhook import HmacWebhook
from connectors.webhooks.stripe import StripeWebhook

PLUGINS: tuple[type[Connector], ...] = (GitHubWebhook, StripeWebhook, HmacWebhook, Mirror)


def full_name(cls: type[Connector]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


_BY_NAME: dict[str, type[Connector]] = {
    **{cls.__name__: cls for cls in PLUGINS},
    **{full_name(cls): cls for cls in PLUGINS},
}


def resolve(name: str) -> type[Connector] | None:
    return _BY_NAME.get(name)


def plugin_list() -> list[dict[str, Any]]:
    """GET /connector-plugins."""
    return [{"class": full_name(cls), "type": cls.TYPE, "version": cls.VERSION} for cls in PLUGINS]
