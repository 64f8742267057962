"""The README is part of the product: its configuration table must name every setting there is."""

from __future__ import annotations

from streams.settings import SETTINGS
from tests.support import ROOT


def test_every_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [spec.env for spec in SETTINGS.values() if f"`{spec.env}`" not in readme]
    assert missing == []


def test_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text()[:1500]
    assert "make up" in head and "make test" in head
