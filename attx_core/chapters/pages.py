"""The book's pages without computations of their own: the landing page and the reference pages."""
from .registry import Chapter, register_chapter

register_chapter(Chapter(name="intro", title="attx: AttEXplore reproduced, claim by claim", part="root", order=0))
register_chapter(Chapter(name="method_cards", title="Method cards", part="Reference", order=1))
register_chapter(Chapter(name="stand_ins", title="The offline stand-ins: EfficientNet-Lite0/1/2", part="Reference", order=2))
register_chapter(Chapter(name="statistics", title="Statistics: paired comparisons and confidence sequences", part="Reference", order=0))
