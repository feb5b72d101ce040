"""The likelihood families' maths: log-densities against torch.distributions (and
mpmath where torch loses digits), means and draws, gradients at the extremes,
masks, float64, state_dict and pickle. Pure torch, no fitting."""

import copy
import math
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import distributions as D
from torch.distributions import constraints

from skvae.likelihoods import (
    LIKELIHOODS,
    Bernoulli,
    Categorical,
    ContinuousBernoulli,
    Gaussian,
    Likelihood,
    NegativeBinomial,
    Poisson,
    StudentT,
    make_likelihood,
    one_hot_or_zero,
)
from skvae.likelihoods._continuous_bernoulli import (
    cb_icdf,
    cb_log_normalizer,
    cb_mean,
)
from skvae.likelihoods._special import log_gamma_ratio

mpmath = pytest.importorskip("mpmath")

F64 = torch.float64
SETTINGS = settings(deadline=None, max_examples=40)


def t64(values):
    return torch.as_tensor(np.asarray(values, dtype=np.float64))


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def ready(likelihood, n_features, dtype=F64, x_mean=None, x_var=None):
    """``likelihood`` initialized on some statistics, in ``dtype``."""
    x_mean = torch.full((n_features,), 0.4) if x_mean is None else x_mean
    x_var = torch.full((n_features,), 2.0) if x_var is None else x_var
    likelihood.initialize(x_mean.to(F64), x_var.to(F64))
    return likelihood.to(dtype)


def one_hot(index, n_categories, dtype=F64):
    return torch.nn.functional.one_hot(torch.as_tensor(index), n_categories).to(dtype)


# --------------------------------------------------- log-densities vs torch


@SETTINGS
@given(st.lists(st.tuples(floats(0, 1), floats(-15, 15)), min_size=1, max_size=6))
def test_continuous_bernoulli_matches_torch(pairs):
    x, eta = t64([p[0] for p in pairs]), t64([p[1] for p in pairs])
    cb = ContinuousBernoulli()
    expected = D.ContinuousBernoulli(logits=eta).log_prob(x)
    torch.testing.assert_close(cb.feature_log_prob(x, eta), expected, rtol=0, atol=1e-8)
    torch.testing.assert_close(cb.log_prob(x, eta), expected.sum(), rtol=0, atol=1e-7)
    torch.testing.assert_close(
        cb.mean(eta), D.ContinuousBernoulli(logits=eta).mean, rtol=0, atol=1e-9
    )


@SETTINGS
@given(st.one_of(st.just(0.0), floats(1e-6, 700), floats(-700, -1e-6)))
def test_continuous_bernoulli_normalizer_matches_mpmath_at_any_logit(eta):
    # torch's probs-space formula loses digits beyond |eta| ~ 20 (clamped
    # probabilities); the log-normalizer here is computed in eta.
    with mpmath.workdps(200):
        e = mpmath.mpf(eta)
        normalizer = mpmath.log(mpmath.expm1(e) / e) if eta else mpmath.mpf(0)
        mean = 1 / -mpmath.expm1(-e) - 1 / e if eta else mpmath.mpf(0.5)
    got = cb_log_normalizer(t64([eta])).item()
    assert got == pytest.approx(float(normalizer), rel=1e-12, abs=1e-12)
    assert cb_mean(t64([eta])).item() == pytest.approx(
        float(mean), rel=1e-10, abs=1e-12
    )


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 60), floats(-8, 6)), min_size=1, max_size=6))
def test_poisson_matches_torch(pairs):
    k, eta = t64([p[0] for p in pairs]), t64([p[1] for p in pairs])
    expected = D.Poisson(eta.exp()).log_prob(k)
    torch.testing.assert_close(Poisson().feature_log_prob(k, eta), expected)
    torch.testing.assert_close(Poisson().log_prob(k, eta), expected.sum())


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, 200), floats(-6, 6), floats(-6, 7)),
        min_size=1,
        max_size=6,
    )
)
def test_negative_binomial_matches_torch_as_mean_and_inverse_dispersion(rows):
    k, eta = t64([r[0] for r in rows]), t64([r[1] for r in rows])
    log_theta = t64([r[2] for r in rows])
    nb = ready(NegativeBinomial(), len(rows))
    nb.log_theta.data.copy_(log_theta)
    # torch: total_count = theta, success logits = log(mu / theta)
    expected = D.NegativeBinomial(
        total_count=log_theta.exp(), logits=eta - log_theta
    ).log_prob(k)
    torch.testing.assert_close(
        nb.feature_log_prob(k, eta), expected, rtol=1e-9, atol=1e-9
    )
    mu = eta.exp()
    torch.testing.assert_close(nb.mean(eta), mu)
    # its variance is mu + mu^2 / theta (torch's, in its own parameters)
    torch.testing.assert_close(
        D.NegativeBinomial(total_count=nb.theta(), logits=eta - log_theta).variance,
        mu + mu**2 / nb.theta(),
    )


@SETTINGS
@given(st.integers(0, 500), floats(-3, 8), floats(4, 18))
def test_negative_binomial_keeps_its_digits_at_small_dispersion(k, eta, log_theta):
    # lgamma(k + theta) - lgamma(theta) cancels for large theta; mpmath says
    # what the value is, torch's NegativeBinomial is off there.
    nb = ready(NegativeBinomial(), 1)
    nb.log_theta.data.fill_(log_theta)
    with mpmath.workdps(50):
        theta, mu = mpmath.exp(mpmath.mpf(log_theta)), mpmath.exp(mpmath.mpf(eta))
        expected = (
            mpmath.loggamma(k + theta)
            - mpmath.loggamma(theta)
            - mpmath.loggamma(k + 1)
            + theta * mpmath.log(theta / (theta + mu))
            + k * mpmath.log(mu / (theta + mu))
        )
    got = nb.feature_log_prob(t64([k]), t64([eta])).item()
    assert got == pytest.approx(float(expected), rel=1e-9, abs=1e-9)
    # float32 keeps the digits too (a few ulps of the largest term)
    nb32 = nb.float()
    got32 = nb32.feature_log_prob(torch.tensor([float(k)]), torch.tensor([eta])).item()
    assert got32 == pytest.approx(float(expected), rel=1e-4, abs=1e-3)


@SETTINGS
@given(floats(0, 1000), floats(1e-3, 1e9))
def test_log_gamma_ratio_matches_mpmath(a, b):
    with mpmath.workdps(50):
        expected = mpmath.loggamma(mpmath.mpf(b) + a) - mpmath.loggamma(mpmath.mpf(b))
    got = log_gamma_ratio(t64([a]), t64([b])).item()
    assert got == pytest.approx(float(expected), rel=1e-10, abs=1e-9)


@SETTINGS
@given(
    st.lists(
        st.tuples(floats(-50, 50), floats(-5, 5), floats(-3, 3), floats(-3, 6)),
        min_size=1,
        max_size=6,
    )
)
def test_student_t_matches_torch(rows):
    x, loc = t64([r[0] for r in rows]), t64([r[1] for r in rows])
    st_ = ready(StudentT(), len(rows))
    st_.x_logvar_raw.data.copy_(t64([r[2] for r in rows]))
    st_.df_raw.data.copy_(t64([r[3] for r in rows]))
    scale = torch.exp(0.5 * st_.x_logvar())
    expected = D.StudentT(st_.df(), loc, scale).log_prob(x)
    torch.testing.assert_close(
        st_.feature_log_prob(x, loc), expected, rtol=1e-9, atol=1e-9
    )


def test_student_t_starts_with_the_datas_variance_and_bounded_parameters():
    st_ = ready(StudentT(df_init=6.0), 2, x_var=torch.tensor([2.0, 0.5]))
    df = st_.df()
    torch.testing.assert_close(df, torch.full((2,), 6.0, dtype=F64))
    variance = st_.x_logvar().exp() * df / (df - 2)
    torch.testing.assert_close(variance, t64([2.0, 0.5]), rtol=1e-6, atol=0)
    # however far the raw parameters go: df > min_df, scale^2 above its floor
    st_.df_raw.data.fill_(-1e4)
    st_.x_logvar_raw.data.fill_(-1e4)
    assert torch.all(st_.df() >= 1.0)
    # the floor: 1e-3 of the start (neither is near-constant), as the Gaussian's
    start = t64([2.0, 0.5]) * 4 / 6
    floor = torch.log(1e-3 * start)
    torch.testing.assert_close(st_.x_logvar(), floor, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="df_init"):
        StudentT(df_init=2.0)
    with pytest.raises(ValueError, match="df_init"):
        StudentT(df_init=3.0, min_df=4.0)


@SETTINGS
@given(st.integers(1, 6), st.data())
def test_categorical_matches_torch_one_hot_categorical(n_categories, data):
    rows = data.draw(st.integers(1, 5))
    logits = t64(
        data.draw(
            st.lists(
                floats(-20, 20),
                min_size=rows * n_categories,
                max_size=rows * n_categories,
            )
        )
    ).reshape(rows, n_categories)
    index = data.draw(
        st.lists(st.integers(0, n_categories - 1), min_size=rows, max_size=rows)
    )
    x = one_hot(index, n_categories)
    expected = D.OneHotCategorical(logits=logits).log_prob(x)
    torch.testing.assert_close(Categorical().log_prob(x, logits), expected)
    torch.testing.assert_close(
        Categorical().mean(logits), D.OneHotCategorical(logits=logits).probs
    )


def test_gaussian_and_student_t_are_location_families_and_the_others_not():
    assert Likelihood.location_family is False
    location = {name for name, cls in LIKELIHOODS.items() if cls.location_family}
    assert location == {"gaussian", "student_t"}
    # the property itself: p(x + c | loc + c) = p(x | loc)
    x, loc, c = torch.randn(4, 3, dtype=F64), torch.randn(4, 3, dtype=F64), 1e3
    for lik in (ready(Gaussian(), 3), ready(StudentT(), 3)):
        torch.testing.assert_close(lik.log_prob(x + c, loc + c), lik.log_prob(x, loc))
        assert lik.location_columns(3) == (0, 1, 2)
    assert Poisson().location_columns(3) == ()


# ------------------------------------------------------- initialization


def test_continuous_bernoulli_starts_at_the_datas_mean():
    x_mean = t64([0.5, 0.2, 0.9, 0.01, 0.0, 1.0])
    out_loc, out_scale = ContinuousBernoulli().initialize(
        x_mean, torch.ones(6, dtype=F64)
    )
    expected = x_mean.clamp(1e-3, 1 - 1e-3)
    torch.testing.assert_close(cb_mean(out_loc), expected, rtol=1e-9, atol=1e-12)
    assert torch.all(out_scale == 1)
    # it is the maximum-likelihood eta of a constant decoder: the score's
    # derivative mean(x) - A'(eta) vanishes there
    assert out_loc[0].abs() < 1e-9 and out_loc[2] > 0 > out_loc[1]


def test_count_likelihoods_start_at_the_log_mean_and_nb_at_the_moment_dispersion():
    x_mean, x_var = t64([2.0, 0.0, 5.0]), t64([6.0, 1e-3, 4.0])
    for lik in (Poisson(), NegativeBinomial()):
        out_loc, out_scale = lik.initialize(x_mean, x_var)
        torch.testing.assert_close(out_loc, torch.log(t64([2.0, 1e-4, 5.0])))
        assert torch.all(out_scale == 1)
    nb = NegativeBinomial()
    nb.initialize(x_mean, x_var)
    # mean^2 / (var - mean) where overdispersed, bounded to [1e-2, 1e4]
    torch.testing.assert_close(nb.theta(), torch.tensor([1.0, 1e-2, 1e4]))
    assert nb.log_theta.dtype == torch.float32


def test_categorical_starts_at_the_log_frequencies():
    out_loc, _ = Categorical().initialize(t64([0.5, 0.3, 0.2, 0.0]), torch.ones(4))
    torch.testing.assert_close(
        out_loc.softmax(-1), t64([0.5, 0.3, 0.2, 1e-4]) / 1.0001, rtol=1e-9, atol=0
    )


# ---------------------------------------------------------- means, draws

N_DRAWS = 4000


def draws(lik, decoder_out, seed=0):
    generator = torch.Generator().manual_seed(seed)
    out = decoder_out.expand(N_DRAWS, *decoder_out.shape)
    return lik.sample(out, generator)


def check_monte_carlo(samples, mean, sd):
    """The draws' average is within 5 standard errors of ``mean``."""
    error = (samples.mean(0) - mean).abs()
    assert torch.all(error <= 5 * sd / math.sqrt(samples.shape[0]) + 1e-12), error


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_continuous_bernoulli_draws(dtype):
    eta = torch.tensor([-30.0, -3.0, -0.05, 0.0, 1e-5, 0.3, 4.0, 200.0], dtype=dtype)
    cb = ContinuousBernoulli()
    x = draws(cb, eta)
    assert x.dtype == dtype and cb.support.check(x).all()
    reference = D.ContinuousBernoulli(logits=eta.to(F64).clamp(-15, 15))
    mean = cb.mean(eta).to(F64)
    torch.testing.assert_close(mean[1:-1], reference.mean[1:-1], rtol=0, atol=1e-5)
    check_monte_carlo(x.to(F64), mean, reference.stddev.clamp(min=0.05))
    # the inverse CDF is torch's where torch computes it (it returns u for
    # |eta| < 0.004) and the CDF's inverse everywhere
    u = torch.linspace(0, 0.999, 7, dtype=F64)[:, None]
    inner = eta.to(F64)[[1, 2, 5, 6]]
    torch.testing.assert_close(
        cb_icdf(inner, u),
        D.ContinuousBernoulli(logits=inner).icdf(u),
        rtol=0,
        atol=1e-9,
    )


@pytest.mark.parametrize(
    "eta", [-500.0, -3.0, -1e-3, -1e-6, 0.0, 1e-9, 1e-4, 2.0, 80.0]
)
def test_continuous_bernoulli_inverse_cdf_inverts_the_cdf(eta):
    u = [0.0, 1e-6, 0.1, 0.5, 0.9, 0.999999]
    x = cb_icdf(torch.full((6,), eta, dtype=F64), t64(u))
    with mpmath.workdps(60):
        e = mpmath.mpf(eta)
        for x_i, u_i in zip(x.tolist(), u):
            cdf = mpmath.expm1(e * x_i) / mpmath.expm1(e) if eta else x_i
            assert float(cdf) == pytest.approx(u_i, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_count_draws(dtype):
    eta = torch.tensor([-3.0, 0.0, 2.5], dtype=dtype)
    poisson = Poisson()
    x = draws(poisson, eta)
    assert x.dtype == dtype and poisson.support.check(x).all()
    rate = eta.exp().to(F64)
    check_monte_carlo(x.to(F64), rate, rate.sqrt())
    nb = ready(NegativeBinomial(), 3, dtype)
    nb.log_theta.data.copy_(torch.tensor([0.0, -1.0, 3.0]))
    x = draws(nb, eta)
    assert x.dtype == dtype and nb.support.check(x).all()
    theta = nb.theta().detach().to(F64)
    torch.testing.assert_close(nb.mean(eta).to(F64), rate, rtol=1e-6, atol=0)
    check_monte_carlo(x.to(F64), rate, (rate + rate**2 / theta).sqrt())


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_student_t_draws(dtype):
    st_ = ready(StudentT(df_init=8.0), 3, dtype, x_var=torch.tensor([1.0, 4.0, 0.1]))
    loc = torch.tensor([-2.0, 0.0, 5.0], dtype=dtype)
    x = draws(st_, loc)
    assert x.dtype == dtype and torch.isfinite(x).all()
    sd = torch.tensor([1.0, 2.0, math.sqrt(0.1)], dtype=F64)
    check_monte_carlo(x.to(F64), loc.to(F64), sd)
    # and the spread is the t's: variance sigma^2 df / (df - 2) = x_var
    torch.testing.assert_close(x.to(F64).var(0), sd**2, rtol=0.2, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_categorical_draws(dtype):
    logits = torch.tensor([[0.0, 1.0, -2.0, 0.5], [5.0, -5.0, 0.0, 0.0]], dtype=dtype)
    cat = Categorical()
    x = draws(cat, logits)
    assert x.dtype == dtype and x.shape == (N_DRAWS, 2, 4)
    assert constraints.one_hot.check(x).all()
    probs = cat.mean(logits).to(F64)
    check_monte_carlo(x.to(F64), probs, (probs * (1 - probs)).sqrt())


@pytest.mark.parametrize("name", sorted(set(LIKELIHOODS)))
def test_draws_are_reproducible_from_the_generator(name):
    lik = ready(make_likelihood(name), 3)
    out = torch.randn(5, 3, dtype=F64)
    first = lik.sample(out, torch.Generator().manual_seed(3))
    second = lik.sample(out, torch.Generator().manual_seed(3))
    torch.testing.assert_close(first, second, rtol=0, atol=0)


# -------------------------------------------------- gradients at extremes


def finite_gradient(lik, x, decoder_out):
    decoder_out = decoder_out.clone().requires_grad_(True)
    log_p = lik.log_prob(x, decoder_out).sum()
    params = list(lik.parameters())
    grads = torch.autograd.grad(log_p, [decoder_out, *params])
    assert torch.isfinite(log_p)
    assert all(torch.isfinite(g).all() for g in grads)
    return grads[0]


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_continuous_bernoulli_gradients_are_finite_and_right_everywhere(dtype):
    eta = torch.tensor(
        [0.0, 1e-9, -1e-9, 0.0999, 0.1, -0.1001, 0.5, 15.0, -40.0, 500.0, -1e4],
        dtype=dtype,
    )
    x = torch.linspace(0, 1, eta.numel(), dtype=dtype)
    grad = finite_gradient(ContinuousBernoulli(), x, eta)
    # d/deta (eta x - A(eta)) = x - E[x]
    expected = x.to(F64) - cb_mean(eta.to(F64))
    torch.testing.assert_close(grad.to(F64), expected, rtol=0, atol=5e-6)


def test_continuous_bernoulli_is_continuous_across_its_taylor_radius():
    # two neighbouring floats, one on each side of the radius
    for dtype, tol in ((F64, 1e-15), (torch.float32, 1e-6)):
        for edge in (0.1, -0.1):
            edge = torch.tensor([edge], dtype=dtype)
            eta = torch.cat([edge, torch.nextafter(edge, torch.zeros_like(edge))])
            for f in (cb_log_normalizer, cb_mean):
                values = f(eta)
                assert abs(values[0] - values[1]) < tol, (f, edge)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_count_gradients_are_finite_at_extremes(dtype):
    x = torch.tensor([0.0, 3.0, 1000.0, 0.0], dtype=dtype)
    eta = torch.tensor([-30.0, 40.0, 80.0, 10.0], dtype=dtype)
    finite_gradient(Poisson(), x, eta)
    nb = ready(NegativeBinomial(), 4, dtype)
    for log_theta in (-15.0, 0.0, 25.0):  # dispersion 3e6 .. 1e-11
        nb.log_theta.data.fill_(log_theta)
        finite_gradient(nb, x, eta)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_student_t_gradients_are_finite_at_extremes(dtype):
    st_ = ready(StudentT(), 3, dtype)
    x = torch.tensor([1e4, 0.0, -3.0], dtype=dtype)
    for df_raw in (-30.0, 0.0, 1e6):
        st_.df_raw.data.fill_(df_raw)
        finite_gradient(st_, x, torch.zeros(3, dtype=dtype))


def test_categorical_gradients_are_finite_at_extreme_logits():
    logits = torch.tensor([[300.0, -300.0, 0.0], [-1e4, 1e4, 0.0]])
    finite_gradient(Categorical(), one_hot([1, 0], 3, torch.float32), logits)


# ------------------------------------------------------------------ masks

PER_FEATURE = ["continuous_bernoulli", "poisson", "negative_binomial", "student_t"]


def valid_rows(name, generator):
    shape = (6, 4)
    if name == "continuous_bernoulli":
        return torch.rand(shape, generator=generator, dtype=F64)
    if name in ("poisson", "negative_binomial"):
        return torch.poisson(torch.full(shape, 3.0, dtype=F64), generator=generator)
    return torch.randn(shape, generator=generator, dtype=F64) * 2


@pytest.mark.parametrize("name", PER_FEATURE)
def test_masked_log_prob_is_the_log_prob_of_the_observed_entries_alone(name):
    generator = torch.Generator().manual_seed(0)
    lik = ready(make_likelihood(name), 4, x_mean=t64([0.4, 0.6, 2.0, 1.0]))
    for param in lik.parameters():
        param.data.normal_(generator=generator)
    x, out = (
        valid_rows(name, generator),
        torch.randn(6, 4, dtype=F64, generator=generator),
    )
    observed = torch.rand(6, 4, generator=generator) < 0.6
    masked = lik.log_prob(x, out, observed)
    torch.testing.assert_close(
        masked, (lik.feature_log_prob(x, out) * observed).sum(-1)
    )
    # what the unobserved entries hold does not matter
    other = torch.where(observed, x, valid_rows(name, generator))
    torch.testing.assert_close(lik.log_prob(other, out, observed), masked)
    # a column mask is the likelihood of those columns alone
    columns = [0, 2]
    alone = ready(make_likelihood(name), 2)
    alone.load_state_dict({k: v[columns] for k, v in lik.state_dict().items()})
    column_mask = torch.zeros(6, 4, dtype=torch.bool)
    column_mask[:, columns] = True
    torch.testing.assert_close(
        lik.log_prob(x, out, column_mask),
        alone.log_prob(x[:, columns], out[:, columns]),
    )


def test_categorical_missing_rows_contribute_nothing():
    logits = torch.randn(5, 3, dtype=F64)
    log_p = logits.log_softmax(-1)
    x = t64(
        [
            [0, 1, 0],  # category 1, all observed
            [0, 0, 0],  # all zero: missing
            [np.nan] * 3,  # all NaN: missing
            [1, 0, 0],  # category 0, its 1 masked out below: missing
            [0, 0, 1],  # category 2, the others masked out: counts
        ]
    )
    observed = torch.tensor(
        [[1, 1, 1], [1, 1, 1], [0, 0, 0], [0, 1, 1], [0, 0, 1]], dtype=torch.bool
    )
    expected = t64([log_p[0, 1], 0.0, 0.0, 0.0, log_p[4, 2]])
    torch.testing.assert_close(Categorical().log_prob(x, logits, observed), expected)
    # NaN and all-zero rows are missing without a mask too
    expected = t64([log_p[0, 1], 0.0, 0.0, log_p[3, 0], log_p[4, 2]])
    torch.testing.assert_close(Categorical().log_prob(x, logits), expected)


def test_one_hot_or_zero_checks_rows():
    rows = t64(
        [[0, 1, 0], [0, 0, 0], [1, 1, 0], [0, 0.5, 0], [np.nan, 0, 1], [2, 0, 0]]
    )
    assert one_hot_or_zero.check(rows).tolist() == [
        True,
        True,
        False,
        False,
        True,
        False,
    ]
    assert one_hot_or_zero.event_dim == 1 and one_hot_or_zero.is_discrete
    assert Categorical.support is one_hot_or_zero


# ---------------------------------------------------------------- warnings


def test_bernoulli_warns_about_grey_levels_only():
    assert Bernoulli().data_warning(t64([[0, 1], [1, np.nan]])) is None
    message = Bernoulli().data_warning(t64([[0, 0.25], [1, 1]]))
    assert "cross-entropy" in message and "not a density" in message
    assert "likelihood='continuous_bernoulli'" in message
    assert "binarize" in message and "'gaussian'" in message


def test_categorical_warns_about_all_zero_rows():
    assert Categorical().data_warning(one_hot([0, 2, 1], 3)) is None
    message = Categorical().data_warning(t64([[0, 1, 0], [0, 0, 0]]))
    assert message.startswith("1 of 2 rows") and "drop" in message


# ------------------------------------------- float64, state_dict, pickle


@pytest.mark.parametrize("name", sorted(set(LIKELIHOODS)))
def test_float64_state_dict_and_pickle_round_trips(name):
    generator = torch.Generator().manual_seed(1)
    lik = ready(make_likelihood(name), 3, torch.float32, x_mean=t64([0.3, 0.5, 0.2]))
    for param in lik.parameters():
        param.data.add_(0.1 * torch.randn(param.shape, generator=generator))
    if name == "categorical":
        x = one_hot([0, 2, 1, 1], 3, torch.float32)
    elif name in ("poisson", "negative_binomial"):
        x = torch.poisson(torch.full((4, 3), 2.0), generator=generator)
    else:
        x = torch.rand(4, 3, generator=generator)
    out = torch.randn(4, 3, generator=generator)
    log_p = lik.log_prob(x, out)
    # float64, as the estimator's inference on float64 input
    lik64 = copy.deepcopy(lik).to(torch.float64)
    log_p64 = lik64.log_prob(x.double(), out.double())
    assert log_p64.dtype == torch.float64
    torch.testing.assert_close(log_p64.float(), log_p, rtol=1e-5, atol=1e-5)
    assert lik64.mean(out.double()).dtype == torch.float64
    # a fresh one, initialized on other statistics, takes the state
    fresh = ready(make_likelihood(name), 3, torch.float32)
    fresh.load_state_dict(lik.state_dict())
    torch.testing.assert_close(fresh.log_prob(x, out), log_p, rtol=0, atol=0)
    clone = pickle.loads(pickle.dumps(lik))
    torch.testing.assert_close(clone.log_prob(x, out), log_p, rtol=0, atol=0)
    assert list(clone.state_dict()) == list(lik.state_dict())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", sorted(set(LIKELIHOODS)))
def test_log_prob_and_draws_on_gpu(name):
    lik = ready(make_likelihood(name), 3, torch.float32).to("cuda")
    out = torch.randn(5, 3, device="cuda")
    generator = torch.Generator(device="cuda").manual_seed(0)
    x = lik.sample(out, generator)
    assert x.device.type == "cuda" and lik.support.check(x).all()
    assert torch.isfinite(lik.log_prob(x, out)).all()
    assert lik.mean(out).device.type == "cuda"
