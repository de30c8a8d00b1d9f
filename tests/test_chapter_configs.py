"""Every chapter's AttEXplore configuration is one its explorer accepts: no knob of one explorer is forced on
another (which would silently override that explorer's published defaults), checked without computing."""
from __future__ import annotations

import pytest

from attx_core.chapters import PROFILES, chapters, settings
from attx_core.experiments.runners import PUBLISHED_VARIANTS, method_params
from attx_core.methods.attexplore import explorer_settings


def _attexplore(params: dict) -> None:
    full, notes = method_params("attexplore", params)
    assert not notes, notes
    knobs = {k: v for k, v in full.items() if k not in ("attack", "preset", "attack_params") and v is not None}
    explorer_settings(full["attack"], full["preset"], {**knobs, **(full["attack_params"] or {})})


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_explorer_chapter_config_is_accepted(profile):
    for name, chapter in ((c.name, settings(profile, c.name)) for c in chapters(profile)):
        base = chapter.get("base", {})
        for attack in chapter.get("attacks", []):
            _attexplore({**base, "attack": None if attack == "none" else attack})
        for parameter, spec in chapter.get("sensitivity", {}).items():
            for value in spec["values"]:
                _attexplore({**base, "attack": spec.get("attack", "ssa"), parameter: value / 255 if parameter == "epsilon" else value})
        for section in chapter.get("sections", {}).values():
            for value in section["values"]:
                _attexplore({**base, **section.get("base", {}), section["parameter"]: value})
        if name not in ("attexplorepp", "table06_attacks") and "methods" in chapter and "attexplore" in chapter["methods"]:
            _attexplore(chapter["methods"]["attexplore"])


def test_published_variants_are_valid_options():
    for _variant, method, published, corrected in PUBLISHED_VARIANTS:
        for params in (published, corrected):
            if method == "attexplore":
                _attexplore(params)
            else:
                _, notes = method_params(method, params)
                assert not notes, notes
