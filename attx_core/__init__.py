"""attx: AttEXplore / AttEXplore++ attribution, baselines, metrics and attributional robustness."""
from . import data, models
from .methods import METHODS, attribute

__all__ = ["METHODS", "attribute", "data", "models"]
__version__ = "0.1.0"
