"""One book chapter executed end to end through papermill (kernel python3), with tiny settings."""
from __future__ import annotations

import nbformat
import pytest

from attx_core import book
from attx_core.book.build import ensure_kernel

pytest.importorskip("papermill")
pytest.importorskip("jupytext")


def test_toc_lists_every_notebook_source() -> None:
    from attx_core.book.build import NOTEBOOKS

    names = book.toc_notebooks()
    assert names[0] == "intro" and "table01_insdel" in names
    missing = [n for n in names if not (NOTEBOOKS / f"{n}.py").is_file()]
    assert not missing, f"chapters registered without a notebook: {missing}"
    extra = sorted(p.stem for p in NOTEBOOKS.glob("*.py") if p.stem not in names)
    assert not extra, f"notebooks of no registered chapter: {extra}"


def test_the_book_config_names_a_stylesheet_the_repository_has() -> None:
    """The stylesheet that spaces the notebooks' tables is named in ``_config.yml`` and tracked (Sphinx only warns
    about a missing one, and the tables' columns then run together)."""
    import yaml

    from attx_core.book.build import REPO_ROOT

    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())["sphinx"]["config"]
    found = [REPO_ROOT / folder / name for folder in config["html_static_path"] for name in config["html_css_files"]]
    assert any(path.is_file() and ".cell_output table" in path.read_text() for path in found), found


@pytest.mark.slow
def test_table01_notebook_executes_and_shows_the_comparison(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path / "results"))
    overrides = {"n_images": 1, "methods": {"saliency": {}}, "insdel": {"step": 224 * 56, "substrate": "zeros", "order": "pixel"}}
    ensure_kernel()
    book.execute_notebook("table01_insdel", {"profile": "quick", "force": False, "overrides": overrides}, out_dir=tmp_path)
    nb = nbformat.read(tmp_path / "table01_insdel.ipynb", as_version=4)
    html = "".join(o["data"]["text/html"] for c in nb.cells if c.cell_type == "code" for o in c.outputs if "text/html" in o.get("data", {}))
    for text in ("paper", "ours (95% CI)", "EfficientNet-Lite0 (stand-in for Inception-v3)", "Table 1: ", "<details>"):
        assert text in html
    assert "0.3974" in html  # the paper's Saliency insertion on Inception-v3, in the paper's layout
    assert "Provenance: profile quick" in html and "n=1" in html  # folded into the settings dropdown
    assert "efficientnet_lite0" in html  # the analogue is named, never random weights
    tags = [c.metadata.get("tags", []) for c in nb.cells if c.cell_type == "code"]
    assert all({"hide-input", "remove-cell", "remove-input"} & set(t) for t in tags)  # code folded away
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure"
    assert not any(o.get("output_type") == "error" or o.get("name") == "stderr" and "Traceback" in o.get("text", "") for o in outputs)
    shown = ["png" if "image/png" in o.get("data", {}) else o.get("data", {}).get("text/html", "") for o in outputs]
    settings_at = next(i for i, h in enumerate(shown) if "Settings, deviations" in h)
    assert shown.index("png") < settings_at and shown.count("png") == 1  # the figure under its section, once


@pytest.mark.slow
def test_standard_profile_page_renders_the_store_without_computing(tmp_path, monkeypatch) -> None:
    """The default book reads the committed store: the page shows the images stored and what the open claims still need,
    links its CSV, and writes nothing to the store (a copy here, so the test cannot touch the committed one)."""
    import shutil

    from attx_core.store import REPO_ROOT

    store = tmp_path / "results"
    shutil.copytree(REPO_ROOT / "data" / "results" / "standard", store / "standard")
    before = sorted((p.name, p.stat().st_mtime) for p in (store / "standard").rglob("*.json"))
    monkeypatch.setenv("ATTX_RESULTS", str(store))
    ensure_kernel()
    book.execute_notebook("table01_insdel", {"profile": "standard", "force": False}, out_dir=tmp_path)
    nb = nbformat.read(tmp_path / "table01_insdel.ipynb", as_version=4)
    html = "".join(o["data"]["text/html"] for c in nb.cells if c.cell_type == "code" for o in c.outputs if "text/html" in o.get("data", {}))
    assert "images stored" in html and ("comparisons open" in html or "every comparison decided" in html)
    assert "table01_insdel.csv" in html and "attx-verdict" in html
    assert sorted((p.name, p.stat().st_mtime) for p in (store / "standard").rglob("*.json")) == before


def test_a_failed_execution_keeps_the_last_complete_page_and_a_cut_one_is_not_published(tmp_path, monkeypatch) -> None:
    """Kind 5 of the bad-inputs issue: a chapter whose execution did not finish is never published."""
    import jupytext

    from attx_core.book import build

    sources = tmp_path / "notebooks"
    sources.mkdir()
    header = (build.NOTEBOOKS / "table01_insdel.py").read_text().split("# %%")[0]  # the jupytext header with its kernelspec
    (sources / "zz.py").write_text(header + '# %% tags=["parameters"]\nprofile = "quick"\nforce = False\n\n# %%\nraise RuntimeError("cut")\n')
    monkeypatch.setattr(build, "NOTEBOOKS", sources)
    out = tmp_path / "executed"
    out.mkdir()
    done = jupytext.reads("# %%\n1 + 1\n", fmt="py:percent")
    done.cells[0]["execution_count"] = 1
    nbformat.write(done, out / "zz.ipynb")
    before = (out / "zz.ipynb").read_text()
    ensure_kernel()
    with pytest.raises(Exception, match="cut"):
        build.execute_notebook("zz", {"profile": "quick", "force": False}, out_dir=out)
    assert (out / "zz.ipynb").read_text() == before and sorted(p.name for p in out.iterdir()) == ["zz.ipynb"]
    cut = jupytext.reads("# %%\n1 + 1\n\n# %%\n2 + 2\n", fmt="py:percent")
    cut.cells[0]["execution_count"] = 1  # the second cell never ran
    nbformat.write(cut, out / "cut.ipynb")
    assert build.incomplete(out / "cut.ipynb") and not build.incomplete(out / "zz.ipynb")
