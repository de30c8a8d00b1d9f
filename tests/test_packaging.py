"""The two dependency lists (pyproject + requirements-nodeps, environment.yml) must agree."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    return {m.group(1).lower(): m.group(2) for line in lines if (m := re.match(r"\s*([A-Za-z0-9_.\-]+)==([^\s#]+)", line))}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for group in project["optional-dependencies"].values():
        declared += group
    pip_pins = _pins(declared)
    nodeps = _pins((ROOT / "requirements-nodeps.txt").read_text().splitlines())
    env_lines = (ROOT / "environment.yml").read_text().splitlines()
    env_pip = _pins(line.split("- ", 1)[1] for line in env_lines
                    if line.strip().startswith("- ") and "==" in line and not line.lstrip().startswith("#"))
    env_nodeps = _pins(line.split("- ", 1)[1] for line in env_lines if line.lstrip().startswith("#") and "==" in line)
    assert env_pip == pip_pins
    assert env_nodeps == nodeps
    assert pip_pins["torch"] == "2.13.0" and pip_pins["torchvision"] == "0.28.0"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make book" in readme
    assert "make test" in ci


def test_the_version_has_one_home():
    import attx_core
    from attx_core._version import __version__

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert attx_core.__version__ == __version__ == project["version"]
