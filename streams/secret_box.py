"""Connection secrets sealed for the config topic with the operator's key (BUSBAR_SECRET_KEY).

The config topic is readable by anyone who can read Kafka, so API keys, passwords and OAuth
client secrets are stored only as Fernet tokens (AES-128-CBC with an HMAC, from the
`cryptography` package). Several comma-separated keys may be given: the first seals, each
opens, so an operator can rotate keys without losing the secrets sealed under the old one.
"""

from __future__ import annotations

from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

HOW_TO_SET = (
    "set BUSBAR_SECRET_KEY on every worker to a Fernet key, made with: "
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class SecretUnavailable(Exception):
    """No key is configured, or the sealed secret was made under a key this worker lacks."""


class SecretBox:
    def __init__(self, keys: str) -> None:
        """ValueError naming the setting when a key is not a Fernet key."""
        parts = [key.strip() for key in keys.split(",") if key.strip()]
        try:
            self._fernet = MultiFernet([Fernet(key) for key in parts]) if parts else None
        except ValueError as exc:
            raise ValueError(f"BUSBAR_SECRET_KEY is not a Fernet key ({exc}); {HOW_TO_SET}") from None

    @property
    def enabled(self) -> bool:
        return self._fernet is not None

    def seal(self, secret: dict[str, Any]) -> str:
        if self._fernet is None:
            raise SecretUnavailable(f"busbar stores connection secrets only encrypted: {HOW_TO_SET}")
        return self._fernet.encrypt(orjson.dumps(secret)).decode()

    def open(self, token: str) -> dict[str, Any]:
        if self._fernet is None:
            raise SecretUnavailable(f"the connection's secret cannot be read: {HOW_TO_SET}")
        try:
            return orjson.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            reason = "the connection's secret was sealed under a key not in BUSBAR_SECRET_KEY"
            raise SecretUnavailable(reason) from None
