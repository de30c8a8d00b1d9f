"""Method and explorer cards come from the registries and render as Markdown without stray emphasis."""
from __future__ import annotations

import re

import pytest

from attx_core import ATTACKS, METHODS
from attx_core.cards import all_cards, explorer_card, method_card
from attx_core.cli import main


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_has_a_complete_card(name):
    card = method_card(name)
    assert f"`{name}`" in card and "**Published code**" in card and "not recorded" not in card
    assert "**Conformance test**: `tests/test_conformance_" in card and "not in this checkout" not in card
    prose = re.sub(r"`[^`]*`", "", card).replace("\\*", "").replace("**", "")
    assert "*" not in prose  # a formula outside code spans is escaped, never emphasis


def test_explorer_cards_and_the_book_page():
    for name in ATTACKS:
        assert "**Published code**" in explorer_card(name)
    page = all_cards()
    assert page.count("### `") == len(METHODS) and page.count("### explorer `") == len(ATTACKS)
    with pytest.raises(ValueError, match="unknown method"):
        method_card("nope")


def test_cli_card(capsys):
    assert main(["methods", "--card", "tifgsm"]) == 0
    assert "15" in capsys.readouterr().out
    assert main(["methods", "--card", "nope"]) == 2
    assert "unknown method or explorer" in capsys.readouterr().err
