"""Filling and reading a profile's results store: planning (:mod:`.plan`), the one cost model (:mod:`.costs`),
the fill and its command (:mod:`.fill`), and the CSV tables (:mod:`.tables`)."""
from .costs import cpu_hours, entry_cost, key_cost
from .fill import compute_command, run
from .plan import Cell, cells, chapter_missing, missing, remaining, store_status
from .tables import CSV_COLUMNS, table_rows, write_tables

__all__ = ["CSV_COLUMNS", "Cell", "cells", "chapter_missing", "compute_command", "cpu_hours", "entry_cost", "key_cost", "missing",
           "remaining", "run", "store_status", "table_rows", "write_tables"]
