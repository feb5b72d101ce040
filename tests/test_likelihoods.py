"""The ELBO's pure maths against scipy.stats (hypothesis on bounded floats)."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from scipy.special import expit, log_expit

from skvae._modules import VAEModule, gaussian_kl
from skvae.likelihoods import Bernoulli
from skvae.likelihoods._gaussian import gaussian_log_prob


def bernoulli_log_prob(x, logits):
    return Bernoulli().log_prob(x, logits)


floats = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
vectors = arrays(np.float64, st.integers(1, 6), elements=floats)


def t(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


@settings(deadline=None, max_examples=50)
@given(vectors, st.data())
def test_kl_matches_numerical_kl_and_is_nonnegative(loc, data):
    logvar = data.draw(arrays(np.float64, loc.shape, elements=floats))
    kl = gaussian_kl(t(loc), t(logvar)).item()
    # KL(N(m, s^2) || N(0, 1)) = log(1/s) + (s^2 + m^2)/2 - 1/2, per dimension
    s2 = np.exp(logvar)
    expected = np.sum(-0.5 * logvar + 0.5 * (s2 + loc**2) - 0.5)
    assert kl >= -1e-12
    np.testing.assert_allclose(kl, expected, rtol=1e-10, atol=1e-10)


def test_kl_is_zero_at_the_prior():
    assert gaussian_kl(torch.zeros(3), torch.zeros(3)).item() == 0.0


@settings(deadline=None, max_examples=50)
@given(vectors, st.data())
def test_gaussian_log_prob_matches_scipy(x, data):
    loc = data.draw(arrays(np.float64, x.shape, elements=floats))
    logvar = data.draw(arrays(np.float64, x.shape, elements=floats))
    got = gaussian_log_prob(t(x), t(loc), t(logvar)).sum().item()
    expected = stats.norm.logpdf(x, loc, np.exp(0.5 * logvar)).sum()
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


@settings(deadline=None, max_examples=50)
@given(
    arrays(np.float64, st.integers(1, 6), elements=st.sampled_from([0.0, 1.0])),
    st.data(),
)
def test_bernoulli_log_prob_matches_scipy(x, data):
    logits = data.draw(arrays(np.float64, x.shape, elements=st.floats(-30, 30)))
    got = bernoulli_log_prob(t(x), t(logits)).item()
    # scipy.stats.bernoulli loses digits in 1 - p at large logits: compare it
    # where it is accurate, and log_expit (stable) everywhere.
    expected = np.sum(x * log_expit(logits) + (1 - x) * log_expit(-logits))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    if np.all(np.abs(logits) < 10):
        p = expit(logits)
        np.testing.assert_allclose(got, stats.bernoulli.logpmf(x, p).sum(), rtol=1e-7)


def test_bernoulli_log_prob_is_finite_at_extreme_logits():
    got = bernoulli_log_prob(t([1.0, 0.0]), t([-200.0, 200.0]))
    assert torch.isfinite(got).all()
    np.testing.assert_allclose(got.item(), -400.0)


@settings(deadline=None, max_examples=20)
@given(st.integers(1, 5), st.integers(1, 4), st.integers(1, 3))
def test_reparameterize_shapes_and_mean(n, k, s):
    loc, logvar = torch.randn(n, k), torch.randn(n, k)
    z = VAEModule.reparameterize(loc[None], logvar[None], torch.zeros(s, 1, k))
    assert z.shape == (s, n, k)
    torch.testing.assert_close(z[0], loc)
