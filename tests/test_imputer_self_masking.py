"""VAEImputer(missing_mechanism='self_masking'): not-MIWAE's self-masking model."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from torch.special import ndtr

from skvae import VAEImputer
from skvae.likelihoods._self_masking import SelfMaskingGaussian


def _likelihood(rate, slope, bias, mean=0.0, var=1.0):
    n = len(rate)
    lik = SelfMaskingGaussian(rate)
    lik.initialize(torch.full((n,), float(mean)), torch.full((n,), float(var)))
    with torch.no_grad():
        lik.mask_slope_raw.copy_(torch.as_tensor(slope) / 10.0)
        lik.mask_bias_raw.copy_(torch.as_tensor(bias) / 10.0)
    return lik


@torch.no_grad()
def test_missingness_terms_in_closed_form_match_monte_carlo():
    """p(m=1|z), E[x|z,m=1] and the draws of p(x|z,m=1) agree with sampling."""
    torch.manual_seed(0)
    lik = _likelihood([0.3, 0.2], slope=[2.0, -1.5], bias=[-1.0, 0.5], var=2.0)
    decoder_out = torch.tensor([[0.4, -0.3]])
    sigma = torch.exp(0.5 * lik.x_logvar())
    x = decoder_out + sigma * torch.randn(400_000, 2)
    u = x / np.sqrt(2.0)  # standardized by the training scale
    p_miss = ndtr(lik.mask_slope * u + lik.mask_bias)
    all_missing = torch.zeros(1, 2, dtype=torch.bool)
    log_p = lik.mask_log_prob(decoder_out, decoder_out, all_missing)
    assert_allclose(log_p.item(), torch.log(p_miss.mean(0)).sum().item(), rtol=2e-3)
    mc_mean = (p_miss * x).sum(0) / p_miss.sum(0)
    assert_allclose(lik.mean_missing(decoder_out)[0], mc_mean, atol=5e-3)
    draws = lik.sample_missing(decoder_out.expand(200_000, 2))
    assert_allclose(draws.mean(0), mc_mean, atol=1e-2)


@torch.no_grad()
def test_observed_entries_count_their_chance_of_being_seen():
    lik = _likelihood([0.5, 0.0], slope=[1.0, 1.0], bias=[0.0, 0.0])
    x = torch.tensor([[1.0, 2.0]])
    log_p = lik.mask_log_prob(x, torch.zeros(1, 2))
    # feature 1 never went missing at fit: no term
    assert_allclose(log_p.item(), np.log(1 - ndtr(torch.tensor(1.0)).item()), rtol=1e-6)


@torch.no_grad()
def test_slope_zero_is_missing_completely_at_random():
    """a_j = 0: the imputation mean is the decoder's, the term a constant."""
    lik = _likelihood([0.3, 0.3], slope=[0.0, 0.0], bias=[-0.5, -0.5])
    decoder_out = torch.randn(5, 2)
    assert_allclose(lik.mean_missing(decoder_out), decoder_out)
    assert_allclose(lik.mean_missing(decoder_out), lik.mean(decoder_out))


@pytest.fixture(scope="module")
def censored():
    """300 rows near a 2-D plane; in 3 of 6 columns the top 30 % hidden."""
    rng = np.random.RandomState(0)
    X = rng.randn(300, 2) @ rng.randn(2, 6) + 0.3 * rng.randn(300, 6)
    X = (X - X.mean(0)) / X.std(0)
    hidden = np.zeros_like(X, dtype=bool)
    for j in (0, 2, 4):
        hidden[:, j] = X[:, j] > np.quantile(X[:, j], 0.7)
    X_miss = X.copy()
    X_miss[hidden] = np.nan
    return X, X_miss, hidden


def _fit(X_miss, **given):
    params = {"max_iter": 30, "hidden_layer_sizes": (32, 32), "n_iw_samples": 20}
    params = {**params, "random_state": 0, **given}
    return VAEImputer(**params).fit(X_miss)


def test_self_masking_imputes_censored_values_higher_and_better(censored):
    """Values hidden because they are large: self-masking recovers them."""
    X, X_miss, hidden = censored
    mar = _fit(X_miss).transform(X_miss)
    fitted = _fit(X_miss, missing_mechanism="self_masking")
    masking = fitted.transform(X_miss)
    error = {
        name: np.mean((out - X)[hidden] ** 2)
        for name, out in (("mar", mar), ("masking", masking))
    }
    assert error["masking"] < 0.5 * error["mar"]
    assert masking[hidden].mean() > mar[hidden].mean()
    assert_array_equal(masking[~hidden], X_miss[~hidden])
    lik = fitted.vae_.net_.module_.likelihood
    learned = lik.mask_slope.detach()[lik.mask_features]
    assert lik.mask_features.tolist() == [True, False, True, False, True, False]
    assert (learned > 0).all()  # large values go missing


def test_self_masking_transform_is_deterministic_and_pickles(censored):
    _, X_miss, hidden = censored
    imputer = _fit(X_miss, missing_mechanism="self_masking", max_iter=3)
    out = imputer.transform(X_miss)
    assert_allclose(imputer.transform(X_miss[:7]), out[:7], rtol=1e-12)
    assert_array_equal(pickle.loads(pickle.dumps(imputer)).transform(X_miss), out)
    assert not np.isnan(out).any()
    draws = imputer.set_params(sample_posterior=True).transform(X_miss)
    assert not np.isnan(draws).any()
    assert_array_equal(draws[~hidden], X_miss[~hidden])


def test_default_is_mar_and_leaves_likelihood_alone(censored):
    _, X_miss, _ = censored
    imputer = VAEImputer()
    assert imputer.missing_mechanism == "mar"
    fitted = _fit(X_miss, max_iter=2)
    assert fitted.vae_.likelihood == "gaussian"


def test_self_masking_refuses_other_likelihoods_and_categorical_columns():
    X = np.random.RandomState(0).rand(30, 3)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="likelihood='gaussian'"):
        VAEImputer(
            missing_mechanism="self_masking", likelihood="bernoulli", max_iter=2
        ).fit(X)
    df = pd.DataFrame({"a": X[:, 0], "c": pd.Categorical(list("xy") * 15)})
    with pytest.raises(ValueError, match="categorical columns"):
        VAEImputer(missing_mechanism="self_masking", max_iter=2).fit(df)
    with pytest.raises(ValueError, match="missing_mechanism"):
        VAEImputer(missing_mechanism="mnar", max_iter=2).fit(X)
