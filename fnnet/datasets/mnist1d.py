"""MNIST-1D (Greydanus & Kobak, 2020): 5,000 one-dimensional digit signals of length 40.

Generated locally with the ``mnist1d`` package's own generator and its
default arguments (``make_dataset(get_dataset_args())``: 5,000 samples, seed
42, the first 80% for training), never through its download path. Requires
``pip install mnist1d`` (which pulls in scipy, matplotlib and requests).
"""

import random

import numpy as np

__all__ = ["load_data"]


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Return ``(x_train, y_train), (x_test, y_test)`` as NumPy arrays.

    ``x_train`` is float32 ``(4000, 40)``, ``x_test`` float32 ``(1000, 40)``:
    the package's standardized signals (mean 0, std 1 over the whole data
    set). ``y`` is int32 with the digit 0..9. The arrays equal the package's
    ``x, y, x_test, y_test`` cast to these dtypes. The package seeds NumPy's
    and Python's global random generators; their states are restored after.
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as error:
        raise ImportError("fnnet.datasets.mnist1d needs the mnist1d package: pip install mnist1d") from error
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return (
        (data["x"].astype(np.float32), data["y"].astype(np.int32)),
        (data["x_test"].astype(np.float32), data["y_test"].astype(np.int32)),
    )
