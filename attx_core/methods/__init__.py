"""Attribution methods: each a short module registered in :data:`METHODS`, all on :mod:`attx_core.engine`.

Every module of this package is imported here, so adding a method is adding a file.
"""
import importlib
import pkgutil

from .registry import METHODS, MethodInfo, attribute, register_method

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "registry":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["METHODS", "MethodInfo", "attribute", "register_method"]
