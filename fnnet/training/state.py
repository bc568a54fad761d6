"""Deprecated path: ``TrainState`` and the randomness contract moved to ``fnnet.state``.

``import fnnet.training.state`` keeps working for one release with a
``DeprecationWarning``; ``fnnet.training.TrainState`` is not deprecated.
"""

import warnings

from fnnet.state import *  # noqa: F403
from fnnet.state import __all__  # noqa: F401

warnings.warn(
    "fnnet.training.state moved to fnnet.state; import TrainState, init_state, ... from there "
    "(fnnet.training.state goes in the next release)",
    DeprecationWarning,
    stacklevel=2,
)
