"""The access keys the API accepts, read from the environment and an optional credentials file.

Operators either point ``BUSBAR_CREDENTIALS_FILE`` at a file they already have (the INI layout of
``~/.aws/credentials``, so existing tooling can write it, or a JSON ``{"KEYID": "secret"}`` object
for generated configs), or set one pair in ``BUSBAR_ACCESS_KEY_ID``/``BUSBAR_SECRET_ACCESS_KEY``
for containers. With neither, the API runs in local mode and accepts any signature, like
LocalStack, so ``load_credentials`` returns None rather than an empty mapping that would lock
everyone out.

Secrets must never leak into logs: the returned mapping hides them from ``repr``, and no error
message quotes a value read from a file (parser errors that would echo a line are replaced).

A key may also name the AWS account it stands for (``aws_account_id`` in an INI section, or
``{"KEYID": {"secret": "...", "account": "111122223333"}}`` in JSON). Event bus policies
(PutPermission) decide what keys of other accounts may do; a key without an account belongs
to the bus owner's account, ``BUSBAR_ACCOUNT_ID``.
"""

from __future__ import annotations

import configparser
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FILE_VAR = "BUSBAR_CREDENTIALS_FILE"
KEY_ID_VAR = "BUSBAR_ACCESS_KEY_ID"
SECRET_VAR = "BUSBAR_SECRET_ACCESS_KEY"

_INI_KEY_ID = "aws_access_key_id"
_INI_SECRET = "aws_secret_access_key"
_INI_ACCOUNT = "aws_account_id"
_ACCOUNT_ID = re.compile(r"^\d{12}$")


class CredentialMap(dict[str, str]):
    """Access key id -> secret; a plain dict that prints only the key ids.

    Being a dict keeps lookups trivial for the signature check, while the overridden repr makes
    an accidental ``log.info("%s", creds)`` or a pytest assertion diff harmless.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Access key id -> the account it stands for, for the keys that name one.
        self.accounts: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"CredentialMap(access_key_ids={sorted(self)!r})"

    __str__ = __repr__


def load_credentials(env: Mapping[str, str]) -> CredentialMap | None:
    """The configured credentials, or None when none are configured (local mode).

    Both sources may be used together and are merged; the same key id with two different secrets
    is refused because silently picking one would make half the clients fail mysteriously.
    Raises ValueError naming the file or variable at fault.
    """
    sources: list[tuple[str, dict[str, str]]] = []
    accounts: dict[str, str] = {}
    path = env.get(FILE_VAR, "").strip()
    if path:
        creds, accounts = _load_file(Path(path))
        sources.append((path, creds))
    pair = _load_pair(env)
    if pair is not None:
        sources.append((f"{KEY_ID_VAR}/{SECRET_VAR}", pair))
    if not sources:
        return None

    merged = CredentialMap()
    origin: dict[str, str] = {}
    for source, creds in sources:
        for key_id, secret in creds.items():
            if key_id in merged and merged[key_id] != secret:
                raise ValueError(
                    f"access key id {key_id!r} has different secrets in {origin[key_id]} and {source}"
                )
            merged[key_id] = secret
            origin.setdefault(key_id, source)
    merged.accounts.update(accounts)
    return merged


def _load_pair(env: Mapping[str, str]) -> dict[str, str] | None:
    key_id = env.get(KEY_ID_VAR, "").strip()
    secret = env.get(SECRET_VAR, "").strip()
    if not key_id and not secret:
        return None
    if not key_id:
        raise ValueError(f"{SECRET_VAR} is set but {KEY_ID_VAR} is not")
    if not secret:
        raise ValueError(f"{KEY_ID_VAR} is set but {SECRET_VAR} is not")
    _check_key_id(key_id, KEY_ID_VAR)
    return {key_id: secret}


def _load_file(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(key id -> secret, key id -> account) from the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ValueError(f"{FILE_VAR}={path}: cannot read credentials file: {reason}") from None
    where = f"credentials file {path} ({FILE_VAR})"
    creds, accounts = _parse_json(text, where) if text.lstrip().startswith("{") else _parse_ini(text, where)
    if not creds:
        raise ValueError(f"{where}: contains no credentials")
    return creds, accounts


def _parse_json(text: str, where: str) -> tuple[dict[str, str], dict[str, str]]:
    def no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
        seen: dict[str, object] = {}
        for key, value in pairs:
            if key in seen:
                raise ValueError(f"{where}: access key id {key!r} appears twice")
            seen[key] = value
        return seen

    try:
        data = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        # exc.msg and the position only; the exception object also carries the whole document.
        raise ValueError(
            f"{where}: invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(f'{where}: the JSON must be an object {{"ACCESS_KEY_ID": "secret", ...}}')
    creds: dict[str, str] = {}
    accounts: dict[str, str] = {}
    for key_id, value in data.items():
        _check_key_id(key_id, where)
        secret = value
        if isinstance(value, dict):
            if set(value) - {"secret", "account"}:
                raise ValueError(f'{where}: the entry for {key_id!r} may only hold "secret" and "account"')
            secret = value.get("secret")
            if "account" in value:
                accounts[key_id] = _check_account(value["account"], f"{where}: the account of {key_id!r}")
        if not isinstance(secret, str) or not secret:
            raise ValueError(f"{where}: the secret for {key_id!r} must be a non-empty string")
        creds[key_id] = secret
    return creds, accounts


def _parse_ini(text: str, where: str) -> tuple[dict[str, str], dict[str, str]]:
    # No interpolation: a '%' in a secret is a character, not a reference. And no DEFAULT
    # section: the AWS format has none, so [DEFAULT] must not leak its keys into every profile.
    parser = configparser.ConfigParser(interpolation=None, default_section="\x00none")
    try:
        parser.read_string(text, source=where)
    except configparser.Error as exc:
        # configparser's messages quote the offending line, which may hold a secret.
        raise ValueError(f"{where}: not an INI credentials file ({_ini_error_location(exc)})") from None
    creds: dict[str, str] = {}
    accounts: dict[str, str] = {}
    for section in parser.sections():
        key_id = parser.get(section, _INI_KEY_ID, fallback="").strip()
        secret = parser.get(section, _INI_SECRET, fallback="").strip()
        if not key_id and not secret:
            continue  # profiles such as role_arn/source_profile sections hold no key of ours
        if not key_id or not secret:
            raise ValueError(f"{where}: section [{section}] needs both {_INI_KEY_ID} and {_INI_SECRET}")
        _check_key_id(key_id, f"{where} section [{section}]")
        if key_id in creds and creds[key_id] != secret:
            raise ValueError(f"{where}: access key id {key_id!r} has different secrets in two sections")
        creds[key_id] = secret
        account = parser.get(section, _INI_ACCOUNT, fallback="").strip()
        if account:
            accounts[key_id] = _check_account(account, f"{where} section [{section}]: {_INI_ACCOUNT}")
    return creds, accounts


def _ini_error_location(exc: configparser.Error) -> str:
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"no [section] header before line {exc.lineno}"
    if isinstance(exc, configparser.ParsingError):
        return "cannot parse line " + ", ".join(str(lineno) for lineno, _ in exc.errors)
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"{exc.option} appears twice in section [{exc.section}]"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"section [{exc.section}] appears twice"
    return type(exc).__name__


def _check_key_id(key_id: object, where: str) -> None:
    """Refuse ids a SigV4 ``Credential=`` scope could not carry, so the mistake shows at startup.

    The bad value is not quoted: a swapped id and secret would otherwise print the secret.
    """
    if (
        not isinstance(key_id, str)
        or not key_id
        or "/" in key_id
        or not key_id.isprintable()
        or any(c.isspace() for c in key_id)
    ):
        raise ValueError(
            f"{where}: an access key id is not valid (it must not contain '/', spaces or control characters)"
        )


def _check_account(account: object, where: str) -> str:
    if not isinstance(account, str) or not _ACCOUNT_ID.match(account):
        raise ValueError(f"{where} must be a 12-digit AWS account id")
    return account
