import numpy as np
import pytest
import torch

# Small-batch torch training slows by an order of magnitude when its threads
# compete with another process or joblib workers (FINDINGS.md): pin them.
torch.set_num_threads(1)


@pytest.fixture
def X_gauss():
    """40 x 6 rows from a 2-factor linear-Gaussian model (as test_factor_analysis)."""
    rng = np.random.RandomState(0)
    W = rng.randn(2, 6)
    return rng.randn(40, 2) @ W + 0.3 * rng.randn(40, 6)


@pytest.fixture
def X_unit(X_gauss):
    """The same rows squashed into [0, 1] for the Bernoulli likelihood."""
    return 1 / (1 + np.exp(-X_gauss))
