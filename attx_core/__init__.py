"""attx: AttEXplore / AttEXplore++ attribution, baselines, metrics and attributional robustness."""
from ._tv_shim import ensure_torchvision_ops

ensure_torchvision_ops()  # before anything imports torchvision/timm (CPU torch wheel)

from . import data, metrics, models, store  # noqa: E402
from ._version import __version__  # noqa: E402
from .attacks import ATTACKS, attack  # noqa: E402
from .methods import METHODS, attribute  # noqa: E402

__all__ = ["ATTACKS", "METHODS", "__version__", "attack", "attribute", "data", "metrics", "models", "store"]
