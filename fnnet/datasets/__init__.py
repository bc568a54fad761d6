"""Datasets as NumPy arrays: ``(x_train, y_train), (x_test, y_test) = <name>.load_data()``.

- :mod:`~fnnet.datasets.digits`: 1,797 8x8 handwritten digits shipped with fnnet.
- :mod:`~fnnet.datasets.mnist`: the 70,000 28x28 MNIST digits from local files.
- :mod:`~fnnet.datasets.mnist1d`: MNIST-1D, generated locally by the ``mnist1d`` package.
- :mod:`~fnnet.datasets.playground`: the TensorFlow Playground's 2-D datasets,
  ``playground.make(name, n, noise=..., key=...) -> (x, y)``.
"""

from fnnet.datasets import digits, mnist, mnist1d, playground

__all__ = ["digits", "mnist", "mnist1d", "playground"]
