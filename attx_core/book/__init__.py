"""The book: executing the chapters' notebooks and building the HTML (:mod:`.build`), the page renderer the
notebooks call (:mod:`.page`), the order generated from the chapter registry (:mod:`.toc`) and the reader's
check of the built pages (:mod:`.check`)."""
from .build import build_book, execute_notebook, publish_tables, read_timings
from .toc import toc_notebooks, write_toc

__all__ = ["build_book", "execute_notebook", "publish_tables", "read_timings", "toc_notebooks", "write_toc"]
