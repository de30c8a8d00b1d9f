"""The book's log pages (no computations of their own): how each chapter last executed, and what the store holds."""
from .registry import Chapter, register_chapter

register_chapter(Chapter(name="execution_statistics", title="Execution statistics", part="Reference", order=3))
register_chapter(Chapter(name="compute_log", title="Compute log: what the store holds, computed when and on what", part="Reference", order=4))
