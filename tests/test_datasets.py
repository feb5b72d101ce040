import numpy as np
import pytest

from skvae import datasets


def test_missing_fashion_mnist_says_how_to_install(monkeypatch):
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIRS", ("/nonexistent",))
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    assert not datasets.has_fashion_mnist()
    with pytest.raises(
        FileNotFoundError, match="apt-get install dataset-fashion-mnist"
    ):
        datasets.load_fashion_mnist()


def test_bad_subset():
    with pytest.raises(ValueError, match="subset"):
        datasets.load_fashion_mnist("valid")


@pytest.mark.skipif(not datasets.has_fashion_mnist(), reason="not installed")
def test_fashion_mnist_test_split():
    X, y = datasets.load_fashion_mnist("test")
    assert X.shape == (10000, 784) and X.dtype == np.float32
    assert 0 <= X.min() and X.max() <= 1 and set(np.unique(y)) == set(range(10))
