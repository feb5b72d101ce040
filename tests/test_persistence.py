"""Fitted models travel: joblib files in a fresh process, CUDA-to-CPU loading,
and a weights-only format that runs no code on load (issue 3)."""

import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.serialization
from shared import FAST
from skorch.exceptions import DeviceWarning

from skvae import VAETransformer


def _outputs(vae, X):
    return {
        "transform": vae.transform(X),
        "score_samples": vae.score_samples(X),
        "sample": vae.sample(4, random_state=0),
        "sample_noise": vae.sample(4, random_state=0, decoder_noise=True),
    }


def _models(X_unit):
    bag = sp.csr_matrix((X_unit > 0.6).astype(np.float64))
    return {
        "bernoulli-dense": (VAETransformer(likelihood="bernoulli", **FAST), X_unit),
        "bernoulli-sparse": (VAETransformer(likelihood="bernoulli", **FAST), bag),
        "gaussian-sparse": (
            VAETransformer(**{**FAST, "early_stopping": True}),
            sp.csc_matrix(X_unit * (X_unit > 0.5)),
        ),
    }


def test_joblib_round_trip_in_fresh_process(X_unit, tmp_path):
    """Bernoulli and sparse-fitted models (the Gaussian dense one is in
    test_transformer.py): one fresh interpreter loads them all."""
    expected = {}
    for name, (vae, X) in _models(X_unit).items():
        vae.fit(X)
        joblib.dump((vae, X), tmp_path / f"{name}.joblib")
        expected[name] = _outputs(vae, X)
    code = (
        "import sys, joblib, numpy as np\n"
        f"sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})\n"
        "from test_persistence import _outputs\n"
        f"for name in {list(expected)!r}:\n"
        f"    vae, X = joblib.load({str(tmp_path)!r} + f'/{{name}}.joblib')\n"
        f"    np.savez({str(tmp_path)!r} + f'/{{name}}.npz', **_outputs(vae, X))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    for name, outputs in expected.items():
        loaded = np.load(tmp_path / f"{name}.npz")
        for key, value in outputs.items():
            np.testing.assert_array_equal(loaded[key], value, err_msg=f"{name} {key}")


def test_fitted_model_drops_early_stopping_weight_copy(X_gauss):
    vae = VAETransformer(**{**FAST, "early_stopping": True}).fit(X_gauss)
    for _, callback in vae.net_.callbacks_:
        assert getattr(callback, "best_model_weights_", None) is None


def _pickle_as_if_fitted_on_cuda(vae):
    """Pickle with every torch storage tagged 'cuda:0' and the device set to
    'cuda': the bytes a GPU machine writes, made without a GPU."""
    vae.set_params(device="cuda")
    vae.net_.device = "cuda"
    original = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        inner = vae.net_.__getstate__()["__cuda_dependent_attributes__"]
        return pickle.dumps(vae), inner
    finally:
        torch.serialization.location_tag = original


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the CPU-only side")
@pytest.mark.parametrize("early_stopping", [False, True])
def test_model_fitted_on_cuda_loads_on_cpu(X_gauss, early_stopping):
    vae = VAETransformer(**{**FAST, "early_stopping": early_stopping}).fit(X_gauss)
    expected = _outputs(vae, X_gauss)
    blob, net_tensors = _pickle_as_if_fitted_on_cuda(vae)
    # The simulation is real: the net's tensors name CUDA storages, which
    # torch refuses to load here unless skorch remaps them.
    assert b"cuda:0" in blob
    with pytest.raises(RuntimeError, match="CUDA"):
        pickle.loads(net_tensors)
    with pytest.warns(DeviceWarning, match="no CUDA devices"):
        loaded = pickle.loads(blob)
    assert str(loaded.net_.device) == "cpu"
    assert all(p.device.type == "cpu" for p in loaded.net_.module_.parameters())
    for key, value in _outputs(loaded, X_gauss).items():
        np.testing.assert_array_equal(value, expected[key], err_msg=key)
    # Refitting needs a device that exists here.
    loaded.set_params(device="cpu", warm_start=True).fit(X_gauss)
    assert loaded.n_iter_ == 2 * FAST["max_iter"]


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_weights_only_round_trip(X_gauss, X_unit, likelihood, tmp_path):
    pd = pytest.importorskip("pandas")
    X = X_gauss if likelihood == "gaussian" else X_unit
    df = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    vae = VAETransformer(likelihood=likelihood, n_components=3, **FAST).fit(df)
    vae.save_weights(tmp_path / "vae.pt")
    loaded = VAETransformer.load_weights(tmp_path / "vae.pt")
    assert loaded.get_params() == vae.get_params()
    for key, value in _outputs(vae, df).items():
        np.testing.assert_array_equal(_outputs(loaded, df)[key], value, err_msg=key)
    np.testing.assert_array_equal(loaded.feature_names_in_, vae.feature_names_in_)
    assert loaded.n_iter_ == vae.n_iter_ and loaded.loss_curve_ == vae.loss_curve_
    # The loaded model trains on (a fresh optimizer) and pickles as usual.
    loaded.set_params(warm_start=True).fit(df)
    assert loaded.n_iter_ == 2 * FAST["max_iter"]
    pickle.loads(pickle.dumps(loaded)).transform(df)


def test_weights_only_round_trip_keeps_the_variance_floor(X_gauss, tmp_path):
    vae = VAETransformer(near_constant_ratio=0.5, n_components=3, **FAST).fit(X_gauss)
    vae.save_weights(tmp_path / "vae.pt")
    loaded = VAETransformer.load_weights(tmp_path / "vae.pt")
    assert loaded.near_constant_ratio == 0.5
    assert loaded.net_.module_.likelihood.near_constant_ratio == 0.5
    np.testing.assert_array_equal(
        loaded.score_samples(X_gauss), vae.score_samples(X_gauss)
    )


def test_weights_file_holds_no_code(X_gauss, tmp_path):
    """The file loads with torch's restricted unpickler; a pickle does not."""
    vae = VAETransformer(**FAST).fit(X_gauss)
    vae.save_weights(tmp_path / "vae.pt")
    state = torch.load(tmp_path / "vae.pt", weights_only=True)
    assert state["format"] == "skvae.weights" and state["version"] == 2
    joblib.dump(vae, tmp_path / "vae.joblib")
    with open(tmp_path / "vae.joblib", "rb") as f:
        with pytest.raises(pickle.UnpicklingError):
            torch.load(f, weights_only=True)
    with pytest.raises(ValueError, match="not a file written by"):
        torch.save({"some": torch.zeros(2)}, tmp_path / "other.pt")
        VAETransformer.load_weights(tmp_path / "other.pt")


class TinyEncoder(torch.nn.Module):
    def __init__(self, n_features, n_components):
        super().__init__()
        self.layer = torch.nn.Linear(n_features, 2 * n_components)

    def forward(self, x):
        z_loc, z_logvar = self.layer(x).chunk(2, dim=1)
        return z_loc, z_logvar


def test_weights_only_with_custom_network(X_gauss, tmp_path):
    vae = VAETransformer(encoder=TinyEncoder, **FAST).fit(X_gauss)
    vae.save_weights(tmp_path / "vae.pt")
    with pytest.raises(ValueError, match="custom encoder.*pass the same network"):
        VAETransformer.load_weights(tmp_path / "vae.pt")
    loaded = VAETransformer.load_weights(tmp_path / "vae.pt", encoder=TinyEncoder)
    np.testing.assert_array_equal(loaded.transform(X_gauss), vae.transform(X_gauss))


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the CPU-only side")
def test_weights_saved_with_cuda_device_load_on_cpu(X_gauss, tmp_path):
    vae = VAETransformer(**FAST).fit(X_gauss)
    vae.set_params(device="cuda")  # as saved on a GPU machine (tensors go via CPU)
    vae.save_weights(tmp_path / "vae.pt")
    with pytest.warns(UserWarning, match="no CUDA GPU here: loading it with"):
        loaded = VAETransformer.load_weights(tmp_path / "vae.pt")
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.transform(X_gauss), vae.transform(X_gauss))


def test_weights_only_round_trip_with_int_hidden_layer_sizes(X_gauss, tmp_path):
    """hidden_layer_sizes=8 (one layer, as MLP accepts) saves and loads."""
    vae = VAETransformer(**{**FAST, "hidden_layer_sizes": 8}).fit(X_gauss)
    vae.save_weights(tmp_path / "vae.pt")
    loaded = VAETransformer.load_weights(tmp_path / "vae.pt")
    np.testing.assert_array_equal(loaded.transform(X_gauss), vae.transform(X_gauss))


def test_auto_hidden_layer_sizes_load_as_auto(X_gauss, tmp_path):
    """A model fitted with hidden_layer_sizes='auto' loads with 'auto' in its
    parameters (as clone and GridSearchCV see it) and the widths of its fit."""
    vae = VAETransformer(**{**FAST, "hidden_layer_sizes": "auto"}).fit(X_gauss)
    vae.save_weights(tmp_path / "vae.pt")
    loaded = VAETransformer.load_weights(tmp_path / "vae.pt")
    assert loaded.get_params()["hidden_layer_sizes"] == "auto"
    assert loaded._hidden_layer_sizes() == vae._hidden_layer_sizes() == (64, 64)
    np.testing.assert_array_equal(loaded.transform(X_gauss), vae.transform(X_gauss))


def test_auto_widths_of_another_version_load_from_the_file(
    X_gauss, tmp_path, monkeypatch
):
    """Where 'auto' would now resolve otherwise, the file's widths build the
    net, and get_params still says 'auto' (as the file's parameters do)."""
    vae = VAETransformer(**{**FAST, "hidden_layer_sizes": "auto"}).fit(X_gauss)
    vae.save_weights(tmp_path / "vae.pt")
    monkeypatch.setattr("skvae._base.AUTO_HIDDEN_ROWS", 1)  # 'auto' now (256, 256)
    loaded = VAETransformer.load_weights(tmp_path / "vae.pt")
    assert loaded.get_params()["hidden_layer_sizes"] == "auto"
    assert loaded._hidden_layer_sizes() == (64, 64)
    np.testing.assert_array_equal(loaded.transform(X_gauss), vae.transform(X_gauss))
    # a warm start continues those networks; a fresh fit resolves 'auto' anew
    loaded.set_params(warm_start=True, max_iter=1).fit(X_gauss)
    assert loaded._hidden_layer_sizes() == (64, 64)
    loaded.set_params(warm_start=False).fit(X_gauss)
    assert loaded._hidden_layer_sizes() == (256, 256)
