"""The 1,797 handwritten digits (8x8 pixels) shipped inside fnnet; never downloaded.

Source: scikit-learn's bundled copy (``sklearn.datasets.load_digits``) of the
test part of the UCI "Optical Recognition of Handwritten Digits" data set
(E. Alpaydin, C. Kaynak, 1998; https://archive.ics.uci.edu/dataset/80),
licensed CC BY 4.0. Each pixel counts the "on" pixels in a 4x4 block of a 32x32
bitmap, 0..16. Stored in ``digits.npz`` as uint8 ``images (1797, 8, 8)``, ``labels (1797,)``
and the fixed test split as the boolean mask ``is_test (1797,)``.
"""

from importlib import resources

import numpy as np

__all__ = ["load_data"]


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Return ``(x_train, y_train), (x_test, y_test)`` as NumPy arrays.

    ``x`` is float32 of shape ``(n, 64)``: the 8x8 image flattened row by row,
    pixel values 0..16 (as in scikit-learn; divide by 16 or standardize).
    ``y`` is int32 of shape ``(n,)`` with the digit 0..9. The split is fixed
    and stratified: a sixth of each digit, 296 images, drawn once at random
    and stored with the data, is the test set; the other 1,501 train. (The
    file's last rows come from other writers than its first, so a
    first/last split would test on a shifted distribution.)
    """
    with resources.files(__package__ or "fnnet.datasets").joinpath("digits.npz").open("rb") as file:
        with np.load(file, allow_pickle=False) as data:
            images, labels, is_test = data["images"], data["labels"], data["is_test"]
    if images.shape != (1797, 8, 8) or labels.shape != (1797,) or labels.max() > 9 or is_test.shape != (1797,):
        raise ValueError(
            f"fnnet's embedded digits.npz is damaged: images {images.shape}, labels "
            f"{labels.shape}, is_test {is_test.shape}; expected (1797, 8, 8), (1797,) "
            "and (1797,) with labels 0..9. Reinstall fnnet."
        )
    x = images.reshape(len(images), 64).astype(np.float32)
    y = labels.astype(np.int32)
    return (x[~is_test], y[~is_test]), (x[is_test], y[is_test])
