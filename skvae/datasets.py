"""Loader for Fashion-MNIST as installed by Debian's ``dataset-fashion-mnist``.

Nothing is downloaded: the files must already be on disk
(``apt-get install dataset-fashion-mnist`` puts them in
``/usr/share/datasets/fashion-mnist``).
"""

import gzip
import os
from pathlib import Path

import numpy as np

# Searched after $FASHION_MNIST_DIR, which is read at each call.
FASHION_MNIST_DIRS = ("/usr/share/datasets/fashion-mnist",)


def _find_fashion_mnist():
    for folder in (os.environ.get("FASHION_MNIST_DIR", ""), *FASHION_MNIST_DIRS):
        if folder and (Path(folder) / "train-images-idx3-ubyte.gz").exists():
            return Path(folder)
    return None


def has_fashion_mnist():
    """Tell whether the Fashion-MNIST files are on disk.

    Returns
    -------
    found : bool
        True where :func:`load_fashion_mnist` will find the files.
    """
    return _find_fashion_mnist() is not None


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    n_dims = data[3]
    shape = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims)
    )
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(shape)


def load_fashion_mnist(subset="train"):
    """Load Fashion-MNIST (Xiao et al. 2017, MIT licence) from Debian's package.

    Parameters
    ----------
    subset : {'train', 'test'}, default='train'
        60,000 training or 10,000 test images.

    Returns
    -------
    X : ndarray of shape (n_samples, 784), dtype float32
        28 x 28 grey images, flattened row by row, scaled to [0, 1].
    y : ndarray of shape (n_samples,), dtype int64
        Class labels 0-9 (T-shirt, trouser, pullover, dress, coat, sandal,
        shirt, sneaker, bag, ankle boot).

    Raises
    ------
    FileNotFoundError
        If the files are not installed; the message says how to get them.
    ValueError
        If ``subset`` is not 'train' or 'test'.
    """
    prefix = {"train": "train", "test": "t10k"}.get(subset)
    if prefix is None:
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}.")
    folder = _find_fashion_mnist()
    if folder is None:
        raise FileNotFoundError(
            "Fashion-MNIST is not installed. On Debian or Ubuntu run "
            "`apt-get install dataset-fashion-mnist`, or set FASHION_MNIST_DIR "
            "to a folder holding train-images-idx3-ubyte.gz and its siblings."
        )
    images = _read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
    labels = _read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz")
    X = images.reshape(len(images), -1).astype(np.float32) / 255.0
    return X, labels.astype(np.int64)
