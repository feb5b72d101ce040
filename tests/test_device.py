"""device='cpu' | 'cuda' | 'auto': outputs always come back as numpy on the host.

The CUDA tests run only where torch sees a GPU.
"""

import pickle

import numpy as np
import pytest
import torch
from shared import fast

from skvae import VAETransformer
from skvae._runtime import resolve_device

FAST = fast(hidden_layer_sizes=(16,))
needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA GPU visible to torch"
)


def test_auto_resolves_to_cpu_without_a_gpu(X_gauss, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    vae = VAETransformer(device="auto", **FAST).fit(X_gauss)
    assert vae.device == "auto"  # the parameter is left as given
    assert vae.net_.device == "cpu"
    assert all(p.device.type == "cpu" for p in vae.net_.module_.parameters())


def test_auto_matches_cpu_here(X_gauss):
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: 'auto' means cuda")
    Z_auto = VAETransformer(device="auto", **FAST).fit_transform(X_gauss)
    Z_cpu = VAETransformer(device="cpu", **FAST).fit_transform(X_gauss)
    np.testing.assert_array_equal(Z_auto, Z_cpu)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_a_gpu_is_a_clear_error(X_gauss, device):
    vae = VAETransformer(device=device, **FAST)
    with pytest.raises(ValueError, match="no CUDA GPU.*device='auto'"):
        vae.fit(X_gauss)
    assert not hasattr(vae, "net_")


@pytest.mark.parametrize("device", ["gpu", "cuda:x", ""])
def test_unknown_device_is_a_clear_error(X_gauss, device):
    with pytest.raises(ValueError, match="device must be"):
        VAETransformer(device=device, **FAST).fit(X_gauss)


@needs_cuda
@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
@pytest.mark.parametrize("device", ["cuda", "auto"])
def test_cuda_fit_and_outputs_on_host(X_gauss, X_unit, likelihood, device):
    X = X_gauss if likelihood == "gaussian" else X_unit
    vae = VAETransformer(
        likelihood=likelihood, device=device, early_stopping=True, **FAST
    ).fit(X)
    assert vae.net_.device.startswith("cuda")
    assert all(p.is_cuda for p in vae.net_.module_.parameters())
    for dtype in (np.float32, np.float64):
        Xd = X.astype(dtype)
        for out in (
            vae.transform(Xd),
            vae.inverse_transform(vae.transform(Xd)),
            vae.score_samples(Xd),
            vae.score_samples_iw(Xd, n_importance_samples=20),
        ):
            assert isinstance(out, np.ndarray) and out.dtype == dtype
            assert np.all(np.isfinite(out))
    for noise in (False, True):
        assert isinstance(
            vae.sample(4, random_state=0, decoder_noise=noise), np.ndarray
        )
    assert np.isfinite(vae.score(X))
    np.testing.assert_array_equal(vae.score_samples(X), vae.score_samples(X))


@needs_cuda
def test_cuda_seeded_fit_is_reproducible_and_close_to_cpu(X_gauss):
    Z1 = VAETransformer(device="cuda", **FAST).fit_transform(X_gauss)
    Z2 = VAETransformer(device="cuda", **FAST).fit_transform(X_gauss)
    np.testing.assert_allclose(Z1, Z2, rtol=1e-5, atol=1e-6)
    # Same initial weights (built on the CPU under the seed): same shape of result.
    Z_cpu = VAETransformer(device="cpu", **FAST).fit_transform(X_gauss)
    assert Z_cpu.shape == Z1.shape


@needs_cuda
def test_cuda_warm_start_partial_fit_and_pickle(X_gauss):
    vae = VAETransformer(device="cuda", warm_start=True, **FAST).fit(X_gauss)
    vae.fit(X_gauss)
    vae.partial_fit(X_gauss[:20])
    assert vae.n_iter_ == 7
    clone = pickle.loads(pickle.dumps(vae))
    np.testing.assert_allclose(clone.transform(X_gauss), vae.transform(X_gauss))
