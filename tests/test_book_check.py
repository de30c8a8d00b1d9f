"""check-book's page checks on synthetic pages (no browser needed): each problem it names can be seen."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from attx_core.book.check import page_problems


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_clean_page_passes_and_each_problem_is_named(tmp_path) -> None:
    page = tmp_path / "page.html"
    (tmp_path / "fig.png").write_bytes(_png(np.random.default_rng(0).integers(0, 255, (20, 20, 3))))
    (tmp_path / "blank.png").write_bytes(_png(np.full((20, 20, 3), 255)))
    assert page_problems(page, '<p>fine</p><img src="fig.png">') == []
    assert page_problems(page, "") == ["the browser rendered nothing"]
    assert "traceback" in page_problems(page, '<div class="cell_output output traceback">x</div>')[0]
    assert "an empty figure" in page_problems(page, '<img src="blank.png">')[0]
    assert "a missing figure" in page_problems(page, '<img src="gone.png">')[0]
    assert "an error on stderr" in page_problems(page, '<div class="output stderr">ValueError: bad</div>')[0]
    assert page_problems(page, '<div class="output stderr">a harmless warning</div>') == []
