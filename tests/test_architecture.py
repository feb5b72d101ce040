"""The layers of skvae 0.2 (issue 8): the likelihood layer as an extension
point, the model computing its own objectives, weights files of every format
version, and imports that point down only."""

import ast
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from shared import FAST
from torch import nn

from skvae import VAETransformer
from skvae._modules import gaussian_kl
from skvae.likelihoods import Likelihood

PACKAGE = Path(__file__).resolve().parents[1] / "skvae"
DATA = Path(__file__).resolve().parent / "data"


class Laplace(Likelihood):
    """A user-written likelihood: Laplace with one learned scale per feature."""

    def initialize(self, x_mean, x_var):
        start = 0.5 * torch.log(x_var.float() / 2)
        self.log_scale = nn.Parameter(start)
        return x_mean, x_var.sqrt()

    def feature_log_prob(self, x, decoder_out):
        return -(x - decoder_out).abs() / self.log_scale.exp() - (
            math.log(2) + self.log_scale
        )

    def mean(self, decoder_out):
        return decoder_out

    def sample(self, decoder_out, generator=None):
        u = torch.rand(decoder_out.shape, generator=generator, dtype=decoder_out.dtype)
        u = u - 0.5
        return decoder_out - self.log_scale.exp() * u.sign() * torch.log1p(-2 * u.abs())


def test_laplace_log_prob_matches_torch_distributions():
    lik = Laplace()
    lik.initialize(torch.zeros(3), torch.tensor([1.0, 2.0, 0.5]))
    x, loc = torch.randn(5, 3), torch.randn(5, 3)
    expected = torch.distributions.Laplace(loc, lik.log_scale.exp()).log_prob(x)
    torch.testing.assert_close(lik.log_prob(x, loc), expected.sum(-1))


def test_user_written_likelihood_trains_and_scores_end_to_end(X_gauss):
    heavy = X_gauss + np.random.RandomState(1).standard_cauchy(X_gauss.shape) * 0.1
    laplace = Laplace()
    vae = VAETransformer(likelihood=laplace, **{**FAST, "max_iter": 40}).fit(heavy)
    assert vae.likelihood is laplace and not hasattr(laplace, "log_scale")
    assert isinstance(vae.net_.module_.likelihood, Laplace)
    # It learned: the training loss fell, and its scale parameters moved.
    assert vae.loss_curve_[-1] < vae.loss_curve_[0] - 0.5
    scores = vae.score_samples(heavy)
    assert scores.shape == (40,) and np.all(np.isfinite(scores))
    assert vae.score_samples_iw(heavy, n_importance_samples=50).mean() > scores.mean()
    assert vae.sample(7, random_state=0, decoder_noise=True).shape == (7, 6)
    clone = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(clone.score_samples(heavy), scores)


def test_likelihood_instance_is_code_in_weights_files(X_gauss, tmp_path):
    vae = VAETransformer(likelihood=Laplace(), **FAST).fit(X_gauss)
    vae.save_weights(tmp_path / "vae.pt")
    with pytest.raises(ValueError, match="custom likelihood.*pass the same"):
        VAETransformer.load_weights(tmp_path / "vae.pt")
    loaded = VAETransformer.load_weights(tmp_path / "vae.pt", likelihood=Laplace())
    np.testing.assert_array_equal(
        loaded.score_samples(X_gauss), vae.score_samples(X_gauss)
    )


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_weights_files_of_skvae_0_1_still_load(likelihood):
    expected = np.load(DATA / "weights_v0.1_expected.npz")
    X = expected[f"{likelihood}_X"]
    vae = VAETransformer.load_weights(DATA / f"weights_v0.1_{likelihood}.pt")
    assert vae.likelihood == likelihood and vae.n_iter_ == 3
    assert list(vae.feature_names_in_) == [f"c{i}" for i in range(6)]
    np.testing.assert_allclose(vae.transform(X), expected[f"{likelihood}_Z"], rtol=1e-6)
    np.testing.assert_allclose(
        vae.sample(4, random_state=0, decoder_noise=True),
        expected[f"{likelihood}_G"],
        rtol=1e-6,
    )
    # 0.2 draws each row's own scoring noise (0.1 shared 16 draws by all
    # rows): the same ELBO up to Monte Carlo error.
    scores = vae.score_samples(X)
    assert abs(scores.mean() - expected[f"{likelihood}_S"].mean()) < 0.1
    np.testing.assert_allclose(scores, expected[f"{likelihood}_S"], atol=1.0)


def test_weights_file_of_a_newer_format_is_refused(X_gauss, tmp_path):
    vae = VAETransformer(**FAST).fit(X_gauss)
    vae.save_weights(tmp_path / "vae.pt")
    state = torch.load(tmp_path / "vae.pt", weights_only=True)
    state["version"] = 99
    torch.save(state, tmp_path / "future.pt")
    with pytest.raises(ValueError, match="weights format 99.*upgrade skvae"):
        VAETransformer.load_weights(tmp_path / "future.pt")


def test_the_model_computes_its_own_objectives(X_gauss):
    vae = VAETransformer(**{**FAST, "max_iter": 10}).fit(X_gauss)
    module = vae.net_.module_.eval()
    x = torch.as_tensor(X_gauss, dtype=torch.float32)
    eps = torch.randn(
        64, 1, vae.n_components, generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        terms = module.elbo(x, eps)
        log_w = module.log_importance_weights(x, eps)
        iw = module.iw_log_likelihood(x, eps)
        z_loc, z_logvar = module.encode(x)
    assert terms.log_px.shape == terms.kl.shape == (40,)
    torch.testing.assert_close(terms.kl, gaussian_kl(z_loc, z_logvar))
    # The mean log-weight is a sampled-KL ELBO: its expectation is the ELBO.
    assert log_w.shape == (64, 40)
    assert abs(log_w.mean() - (terms.log_px - terms.kl).mean()) < 0.5
    # Jensen: log mean exp >= mean log, row by row.
    assert torch.all(iw >= log_w.mean(dim=0) - 1e-5)
    # With one draw the IW estimate is that draw's log-weight.
    torch.testing.assert_close(module.iw_log_likelihood(x, eps[:1]), log_w[0])


def test_estimator_methods_only_batch_and_convert_the_models_numbers(X_gauss):
    vae = VAETransformer(**FAST).fit(X_gauss)
    log_px, kl = vae.elbo_terms(X_gauss)
    np.testing.assert_array_equal(vae.score_samples(X_gauss), log_px - kl)
    assert np.all(kl >= 0)
    module = vae.net_.module_for_inference(torch.float64)
    eps = torch.as_tensor(vae._row_noise(16)(X_gauss))
    with torch.no_grad():  # the model sees the data centred in float64
        terms = module.elbo(torch.as_tensor(X_gauss - vae._x_offset), eps)
    np.testing.assert_allclose(log_px, terms.log_px.numpy(), rtol=1e-12)


def _imports(path):
    """Top-level names a module imports (``skorch``, ``skvae._net``...)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _roots(names):
    return {name.split(".")[0] for name in names}


def test_imports_point_down_only():
    # The estimator face knows nothing of skorch.
    for face in (
        "_transformer.py",
        "_base.py",
        "_persistence.py",
        "_outlier.py",
        "_imputer.py",
        "_owned.py",
    ):
        assert "skorch" not in _roots(_imports(PACKAGE / face)), face
        assert "skorch" not in (PACKAGE / face).read_text(), face
    # The torch layers know nothing of sklearn, skorch or numpy.
    torch_layers = [
        PACKAGE / "_modules.py",
        *sorted((PACKAGE / "likelihoods").glob("*.py")),
    ]
    for path in torch_layers:
        roots = _roots(_imports(path))
        assert not roots & {"sklearn", "skorch", "numpy", "scipy"}, path
        skvae_deps = {n for n in _imports(path) if n.startswith("skvae")}
        # Down only: the model and the likelihoods import only likelihoods.
        assert all(n.startswith("skvae.likelihoods.") for n in skvae_deps), path
    # Only the net layer imports skorch.
    for path in PACKAGE.rglob("*.py"):
        if "skorch" in _roots(_imports(path)):
            assert path.name in {"_net.py", "_skorch_overrides.py"}, path
    # Nothing below the estimator imports it back (the other faces own one,
    # through the mixin they share).
    faces = {
        "__init__.py",
        "_transformer.py",
        "_outlier.py",
        "_imputer.py",
        "_owned.py",
    }
    for path in PACKAGE.rglob("*.py"):
        if path.name not in faces:
            assert "skvae._transformer" not in _imports(path), path
