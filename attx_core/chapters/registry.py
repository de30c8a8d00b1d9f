"""Chapters and their claims as registered data, like methods: one module per chapter calls :func:`register_chapter`.

A chapter declares its title and place in the book, its paper settings, the settings each profile overrides,
its sections (a runner and how to call it: the computations behind one paper table) and its claims. Everything
that used to keep its own chapter list (planning, status, tables, the landing page, the book's order, the tests)
reads :data:`CHAPTERS`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import pandas as pd

from ..validate import require

# A section's computations: (chapter settings, run options) -> the runner's long per-image frame.
SectionRun = Callable[[dict[str, Any], dict[str, Any]], pd.DataFrame]
KINDS = ("difference", "relative", "trend", "equivalence")
PARTS = ("root", "AttEXplore (ICLR 2024): the paper's tables", "Beyond the tables", "Reference")


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, as data: what it says and the paired comparisons that decide it.

    ``reference`` and ``rivals`` are values of the frame column ``by`` (a method, an attack, a setting); empty
    ``rivals`` means every other value. ``kind``: ``difference`` (paired difference reference - rival),
    ``relative`` (relative difference of the means, e.g. AttEXplore++'s +7.57%), ``trend`` (a growth claim:
    the largest setting against the smallest, plus a per-image monotone-trend statistic) or ``equivalence``
    (a minor influence: the difference lies within +-``margin``). ``direction`` is the sign the paper claims for
    reference - rival (None: the reference is better, i.e. -1 where lower is better). ``effect`` is the paper's
    effect where its table does not give it per model (relative: a fraction, 0.0757). ``also``: further
    metrics decided the same way and reported beside the primary one.
    """

    name: str
    label: str
    text: str
    section: str = ""
    metric: str = "insertion"
    also: tuple[str, ...] = ()
    by: str = "method"
    reference: str = "attexplore"
    rivals: tuple[str, ...] = ()
    kind: str = "difference"
    direction: int | None = None
    effect: float | None = None
    margin: float | None = None
    priority: int = 1
    where: Mapping[str, str] = field(default_factory=dict)  # frame rows the claim reads (e.g. one variant)
    pools: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # a name -> the configurations whose per-image mean it is
    rivals_from: str = ""  # another chapter whose (first section's) frame holds the rivals, on the same model and images
    own_model: str = ""  # non-empty: the claim needs the paper's own model (why); a stand-in cannot test it

    def __post_init__(self) -> None:
        require(self.kind in KINDS, f"claim {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        require(self.kind != "equivalence" or (self.margin or 0) > 0, f"claim {self.name!r}: an equivalence claim declares its margin > 0")
        require(self.direction in (None, 1, -1), f"claim {self.name!r}: direction must be +1, -1 or None")

    @property
    def metrics(self) -> tuple[str, ...]:
        """The primary metric, then the others."""
        return (self.metric, *self.also)


@dataclass(frozen=True)
class Section:
    """The computations behind one paper table of a chapter ('' = the whole chapter).

    ``run(cfg, opts)`` calls the runner with the chapter's settings and the run options (``force``,
    ``partial``, ...); ``axis`` names the settings entry that lists the section's compared configurations
    (``methods``, ``values``, ``attacks``) so a planner may restrict a run to some of them. ``axis_column``: where
    the axis lists not the compared configurations but the variants a claim's ``where`` picks by this frame column
    (published_vs_corrected: ``parameter``), so that a claim's run is restricted to its own variant.
    """

    name: str
    run: SectionRun
    paper_table: str | None = None
    axis: tuple[str, ...] = ()
    parameter: str = ""  # the paper's parameter the section varies (ablations), for its figure
    title: str = ""  # the section's heading on a page with several sections
    long: Callable[[pd.DataFrame], pd.DataFrame] | None = None  # the runner's frame -> the long per-image frame claims read
    axis_column: str = ""

    def configurations(self, cfg: Mapping[str, Any]) -> list[str]:
        """The labels of the section's compared configurations under ``cfg`` (as the frame names them)."""
        found = _at(cfg, self.axis) if self.axis else None
        return [str(k) for k in found] if found is not None else []

    def restrict(self, cfg: dict[str, Any], labels: set[str] | frozenset[str]) -> dict[str, Any]:
        """``cfg`` with the section's configurations limited to ``labels`` (the planner's way to run only
        what an open claim needs); a section without an axis is returned as it is."""
        if not self.axis:
            return cfg
        out = copy.deepcopy(cfg)
        parent = _at(out, self.axis[:-1])
        found = parent[self.axis[-1]]
        parent[self.axis[-1]] = ({k: v for k, v in found.items() if str(k) in labels} if isinstance(found, dict)
                                 else [v for v in found if str(v) in labels])
        return out


@dataclass(frozen=True)
class Chapter:
    """A book chapter: title, place, paper settings, per-profile overrides, sections and claims."""

    name: str
    title: str
    part: str
    order: float
    settings: Mapping[str, Any] = field(default_factory=dict)
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sections: tuple[Section, ...] = ()
    claims: tuple[Claim, ...] = ()
    priority: int = 9  # fill order of a chapter without claims (figures, costs), after the claims' priorities
    ignores: tuple[str, ...] = ()  # profile-wide settings its computations do not use (not shown as its settings)

    def __post_init__(self) -> None:
        require(self.part in PARTS, f"chapter {self.name!r}: part must be one of {PARTS}")
        names = [s.name for s in self.sections]
        require(len(set(names)) == len(names), f"chapter {self.name!r}: section names repeat: {names}")
        for claim in self.claims:
            require(claim.section in names, f"chapter {self.name!r}: claim {claim.name!r} names no section of it ({claim.section!r})")

    @property
    def computes(self) -> bool:
        """Whether the chapter has computations in the store (pages such as the method cards do not)."""
        return bool(self.sections)

    def section(self, name: str) -> Section:
        """The section ``name`` (one clear error for an unknown one)."""
        found = [s for s in self.sections if s.name == name]
        require(bool(found), f"chapter {self.name!r} has no section {name!r}; sections: {[s.name for s in self.sections]}")
        return found[0]

    def frames(self, cfg: dict[str, Any], sections: tuple[str, ...] | None = None, **opts: Any) -> Iterator[tuple[str, pd.DataFrame]]:
        """(section, frame) of the chapter's computations under settings ``cfg``, lazily; ``sections`` limits them."""
        for section in self.sections:
            if sections is None or section.name in sections:
                yield section.name, section.run(cfg, opts)


def _at(cfg: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        cfg = cfg[key]
    return cfg


CHAPTERS: dict[str, Chapter] = {}
CLAIMS: dict[str, tuple[Chapter, Claim]] = {}


def register_chapter(chapter: Chapter) -> Chapter:
    """Add a chapter (and its claims) to the registry; names must be new."""
    require(chapter.name not in CHAPTERS, f"chapter {chapter.name!r} is registered twice")
    for claim in chapter.claims:
        require(claim.name not in CLAIMS, f"claim {claim.name!r} is registered twice")
    CHAPTERS[chapter.name] = chapter
    for claim in chapter.claims:
        CLAIMS[claim.name] = (chapter, claim)
    ordered = sorted(CHAPTERS.values(), key=lambda c: (PARTS.index(c.part), c.order, c.name))
    CHAPTERS.clear()
    CHAPTERS.update((c.name, c) for c in ordered)
    return chapter


def unregister_chapter(name: str) -> None:
    """Remove a chapter and its claims (tests that register a chapter of their own clean up with this)."""
    chapter = CHAPTERS.pop(name)
    for claim in chapter.claims:
        CLAIMS.pop(claim.name, None)


def get(name: str) -> Chapter:
    """The registered chapter ``name`` (one clear error naming the known ones)."""
    require(name in CHAPTERS, f"unknown chapter {name!r}; chapters: {', '.join(CHAPTERS)}")
    return CHAPTERS[name]
