"""Make torchvision importable on the CPU-only torch wheel, whichever of torchvision and attx_core comes first.

PyPI's torchvision 0.28.0 is a CUDA build: on the CPU torch 2.13.0 wheel its C extension does not load and
its import fails with ``operator torchvision::nms does not exist``. Defining the two missing op schemas before
torchvision's first import is enough for models, transforms and datasets (only the ``torchvision.ops`` kernels
stay unavailable). It happens only when torchvision's extension fails to load: a matching CUDA or CPU-index
install is never touched.

``import attx_core`` applies it; for ``import torchvision`` (or ``timm``) before ``attx_core``, :func:`install`
(run by ``make setup``) writes a ``.pth`` file into the environment whose one line loads this file and hooks
the first ``import torchvision`` (it imports nothing until then). This file therefore imports only the
standard library at module level.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import sysconfig
from pathlib import Path
from typing import Any

PTH_NAME = "attx_torchvision_shim.pth"
_LIBRARY: list[Any] = []  # the torch.library.Library, kept alive: dropping it unregisters the schemas


def _extension_loads() -> bool:
    """Whether torchvision's C extension loads into this torch (it then defines the ops itself)."""
    import torch

    spec = importlib.machinery.PathFinder.find_spec("torchvision")  # not through sys.meta_path: the hook is there
    if spec is None or not spec.submodule_search_locations:
        return True  # no torchvision: nothing to mend
    folder = Path(list(spec.submodule_search_locations)[0])
    found = [folder / f"_C{suffix}" for suffix in importlib.machinery.EXTENSION_SUFFIXES if (folder / f"_C{suffix}").is_file()]
    try:
        torch.ops.load_library(str(found[0]))
    except (IndexError, OSError, ImportError, RuntimeError):
        return False
    return True


def needed() -> bool:
    """Whether this environment needs the shim: torchvision is installed and its C extension does not load."""
    return not _extension_loads()


def ensure_torchvision_ops() -> bool:
    """Register ``torchvision::nms``/``qnms`` schemas if torchvision cannot; return True when the shim was applied.
    Nothing happens once torchvision is imported or the ops exist (defined by its extension or by another
    copy of this file: the ``.pth`` hook's)."""
    import torch

    if "torchvision" in sys.modules or hasattr(torch.ops.torchvision, "nms") or not needed():
        return False

    library = torch.library.Library("torchvision", "DEF")
    library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARY.append(library)
    return True


class _BeforeTorchvision(importlib.abc.MetaPathFinder):
    """Runs :func:`ensure_torchvision_ops` when ``torchvision`` is first imported, then steps aside."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "torchvision":
            sys.meta_path.remove(self)
            ensure_torchvision_ops()
        return None


def install_import_hook() -> None:
    """Hook the first ``import torchvision`` of this process (what the ``.pth`` line calls)."""
    if "torchvision" not in sys.modules and not any(isinstance(f, _BeforeTorchvision) for f in sys.meta_path):
        sys.meta_path.insert(0, _BeforeTorchvision())


def pth_line(source: Path = Path(__file__).resolve()) -> str:
    """The ``.pth`` line: load this file by path (not the attx_core package, which imports torch) and hook."""
    return (f"import importlib.util as u, os; p = {str(source)!r}; s = os.path.isfile(p) and "
            "u.spec_from_file_location('_attx_tv_shim', p); m = s and u.module_from_spec(s); "
            "s and s.loader.exec_module(m); m and m.install_import_hook()\n")


def install(site_packages: Path | None = None) -> str:
    """Write the ``.pth`` file into this environment's site-packages when the shim is needed, remove it otherwise."""
    pth = Path(site_packages or sysconfig.get_paths()["purelib"]) / PTH_NAME
    if needed():
        pth.write_text(pth_line())
        return f"installed {pth}: torchvision's C extension does not load into this torch, so its import is shimmed"
    pth.unlink(missing_ok=True)
    return "torchvision imports on its own here: no shim installed"

