"""Bad input: a clear error in the user's terms, nothing lost (issue 3).

Every case asserts the exception type and a message naming the problem, that
the user's array is left as it was, and that an already fitted model still
transforms exactly as before the failed call.
"""

import numpy as np
import pytest
import torch
from shared import FAST
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from skvae import VAETransformer


def _X(n=40, d=6, seed=0):
    return np.random.RandomState(seed).randn(n, d)


def _with(value, where=(3, 2)):
    X = _X()
    X[where] = value
    return X


# (id, method, parameters set first, bad input, exception, message pattern).
# NaN is not bad input: it marks a missing value (tests/test_missing.py).
# method "fit" is called on the fitted model (a failed refit), the others too;
# "unfitted:<method>" is called on a fresh estimator.
BAD_INPUT = [
    ("fit-inf", "fit", {}, _with(np.inf), ValueError, "infinity"),
    ("fit-neg-inf", "fit", {}, _with(-np.inf), ValueError, "infinity"),
    ("transform-inf", "transform", {}, _with(np.inf), ValueError, "infinity"),
    ("score-inf", "score_samples", {}, _with(np.inf), ValueError, "infinity"),
    ("partial-fit-inf", "partial_fit", {}, _with(-np.inf), ValueError, "infinity"),
    (
        "inverse-nan",
        "inverse_transform",
        {},
        np.full((3, 2), np.nan),
        ValueError,
        "NaN",
    ),
    ("fit-no-rows", "fit", {}, np.empty((0, 6)), ValueError, "0 sample"),
    ("fit-no-features", "fit", {}, np.empty((5, 0)), ValueError, "0 feature"),
    ("transform-no-rows", "transform", {}, np.empty((0, 6)), ValueError, "0 sample"),
    ("fit-1d", "fit", {}, np.arange(6.0), ValueError, "Expected 2D array"),
    ("transform-1d", "transform", {}, np.arange(6.0), ValueError, "Expected 2D array"),
    ("fit-3d", "fit", {}, np.zeros((4, 3, 6)), ValueError, "dim 3"),
    ("transform-3d", "transform", {}, np.zeros((4, 3, 6)), ValueError, "dim 3"),
    (
        "fit-strings",
        "fit",
        {},
        np.array([["a", "b"], ["c", "d"]]),
        ValueError,
        "could not convert string to float",
    ),
    (
        "transform-strings",
        "transform",
        {},
        np.array([["1.0", "x"] * 3]),
        ValueError,
        "could not convert string to float",
    ),
    (
        "fit-objects",
        "fit",
        {},
        np.array([[{}, None]], dtype=object),
        TypeError,
        "float",
    ),
    (
        "transform-n-features",
        "transform",
        {},
        _X(5, 4),
        ValueError,
        "X has 4 features, but VAETransformer is expecting 6",
    ),
    (
        "score-n-features",
        "score_samples",
        {},
        _X(5, 7),
        ValueError,
        "X has 7 features, but VAETransformer is expecting 6",
    ),
    (
        "inverse-latent-width",
        "inverse_transform",
        {},
        _X(5, 3),
        ValueError,
        "Z has 3 columns, but this VAETransformer has n_components=8",
    ),
    (
        "inverse-1d",
        "inverse_transform",
        {},
        np.zeros(2),
        ValueError,
        "Expected 2D array",
    ),
    (
        "n_components<1",
        "fit",
        {"n_components": 0},
        _X(),
        InvalidParameterError,
        "'n_components' parameter of VAETransformer must be",
    ),
    ("beta<0", "fit", {"beta": -1.0}, _X(), InvalidParameterError, "'beta' parameter"),
    (
        "unknown-likelihood",
        "fit",
        {"likelihood": "no_such_likelihood"},
        _X(),
        InvalidParameterError,
        "'likelihood' parameter .* Got 'no_such_likelihood'",
    ),
    (
        "max_iter<1",
        "fit",
        {"max_iter": 0},
        _X(),
        InvalidParameterError,
        "'max_iter' parameter",
    ),
    (
        "batch_size<1",
        "fit",
        {"batch_size": 0},
        _X(),
        InvalidParameterError,
        "'batch_size' parameter",
    ),
    (
        "n_components-str",
        "fit",
        {"n_components": "2"},
        _X(),
        InvalidParameterError,
        "'n_components' parameter .* Got '2' instead",
    ),
    (
        "learning_rate-str",
        "fit",
        {"learning_rate": "fast"},
        _X(),
        InvalidParameterError,
        "'learning_rate' parameter",
    ),
    (
        "beta-none",
        "fit",
        {"beta": None},
        _X(),
        InvalidParameterError,
        "'beta' parameter",
    ),
    (
        "bernoulli-outside-unit",
        "fit",
        {"likelihood": "bernoulli"},
        _X(),
        ValueError,
        r"likelihood='bernoulli' needs X in \[0, 1\] in fit",
    ),
    (
        "bernoulli-partial-fit",
        "partial_fit",
        {"likelihood": "bernoulli"},
        _X(),
        ValueError,
        r"needs X in \[0, 1\] in partial_fit",
    ),
    ("sample-0", "sample", {}, 0, ValueError, "n_samples must be a positive"),
    ("sample-negative", "sample", {}, -3, ValueError, "n_samples must be a positive"),
    ("sample-float", "sample", {}, 2.5, ValueError, "n_samples must be a positive"),
    ("iw-0", "score_samples_iw", {}, 0, ValueError, "n_importance_samples"),
] + [
    (
        f"unfitted-{method}",
        f"unfitted:{method}",
        {},
        arg,
        NotFittedError,
        "This VAETransformer instance is not fitted yet",
    )
    for method, arg in [
        ("transform", _X()),
        ("inverse_transform", _X(5, 2)),
        ("score_samples", _X()),
        ("score", _X()),
        ("score_samples_iw", _X()),
        ("sample", 3),
        ("get_feature_names_out", None),
    ]
]


def _call(est, method, arg):
    if method == "score_samples_iw" and not isinstance(arg, np.ndarray):
        return est.score_samples_iw(_X(), n_importance_samples=arg)
    if method == "get_feature_names_out":
        return est.get_feature_names_out()
    return getattr(est, method)(arg)


def _same(a, b):
    if isinstance(a, np.ndarray) and a.dtype.kind in "fc":
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    return np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize(
    "method, params, bad, error, match",
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_input_gives_clear_error_and_loses_nothing(
    method, params, bad, error, match
):
    X = _X()
    fitted = VAETransformer(**FAST).fit(X)
    Z_before = fitted.transform(X)
    state_before = {k: v.clone() for k, v in fitted.net_.module_.state_dict().items()}
    n_iter_before = fitted.n_iter_
    bad_copy = bad.copy() if isinstance(bad, np.ndarray) else bad

    if method.startswith("unfitted:"):
        method = method.split(":", 1)[1]
        target = VAETransformer(**FAST)
    else:
        target = fitted.set_params(**params)
    with pytest.raises(error, match=match) as info:
        _call(target, method, bad)

    # Never a raw torch error surfacing under another name.
    assert not isinstance(info.value, RuntimeError)
    # The user's input is untouched.
    if isinstance(bad, np.ndarray):
        assert _same(bad, bad_copy)
    # The fitted model is exactly as it was and still works.
    assert fitted.n_iter_ == n_iter_before
    for key, value in fitted.net_.module_.state_dict().items():
        assert torch.equal(value, state_before[key]), key
    np.testing.assert_array_equal(fitted.transform(X), Z_before)


def test_error_types_are_sklearn_compatible():
    """InvalidParameterError is both a ValueError and a TypeError."""
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(InvalidParameterError, TypeError)


def _badly_scaled():
    X = _X(64, 6)
    return X * np.logspace(-3, 6, 6)


def test_divergence_raises_a_clear_error_never_nan_codes():
    X = _badly_scaled()
    X_copy = X.copy()
    vae = VAETransformer(learning_rate=1e6, **FAST)
    with pytest.raises(ValueError, match="Training diverged") as info:
        vae.fit(X)
    message = str(info.value)
    assert "learning_rate" in message and "StandardScaler" in message
    assert not hasattr(vae, "net_") and not hasattr(vae, "n_iter_")
    np.testing.assert_array_equal(X, X_copy)
    # A sane learning rate then fits the same data with finite codes.
    Z = vae.set_params(learning_rate=1e-3).fit_transform(X)
    assert np.all(np.isfinite(Z))


def test_failed_warm_start_refit_leaves_model_unchanged():
    X = _badly_scaled()
    vae = VAETransformer(**FAST).fit(X)
    Z, scores = vae.transform(X), vae.score_samples(X)
    n_iter, curve = vae.n_iter_, list(vae.loss_curve_)
    history_len = len(vae.net_.history)
    vae.set_params(warm_start=True, learning_rate=1e6)
    with pytest.raises(ValueError, match="Training diverged"):
        vae.fit(X)
    assert vae.n_iter_ == n_iter and vae.loss_curve_ == curve
    assert len(vae.net_.history) == history_len
    np.testing.assert_array_equal(vae.transform(X), Z)
    np.testing.assert_array_equal(vae.score_samples(X), scores)
    # ... and it can still be warm-started with a sane learning rate.
    vae.set_params(learning_rate=1e-3).fit(X)
    assert vae.n_iter_ == n_iter + FAST["max_iter"]


class InterruptingEncoder(torch.nn.Module):
    """An encoder that raises KeyboardInterrupt at its ``interrupt_at``-th
    training step, as a user pressing Ctrl-C mid-epoch."""

    def __init__(self, n_features, n_components, interrupt_at=7):
        super().__init__()
        self.layer = torch.nn.Linear(n_features, 2 * n_components)
        self.interrupt_at = interrupt_at
        self.steps = 0

    def forward(self, x):
        if torch.is_grad_enabled():
            self.steps += 1
            if self.steps == self.interrupt_at:
                raise KeyboardInterrupt
        z_loc, z_logvar = self.layer(x).chunk(2, dim=1)
        return z_loc, z_logvar


def test_keyboard_interrupt_leaves_model_fitted_to_epochs_done():
    # 40 rows, batch 16: 3 steps per epoch, 6 epochs (18 steps) per training
    # iteration; step 43 is in iteration 3.
    X = _X()
    vae = VAETransformer(
        encoder=InterruptingEncoder,
        encoder_kwargs={"interrupt_at": 43},
        **{**FAST, "max_iter": 5, "n_components": 2},
    )
    vae.fit(X)  # returns normally, like skorch and MLPRegressor
    assert vae.net_.module_.encoder.steps == 43
    assert vae.n_iter_ == 2  # the finished iterations; the cut one is not counted
    assert len(vae.loss_curve_) == len(vae.net_.history) == 2
    assert all(np.isfinite(vae.loss_curve_))
    Z = vae.transform(X)
    assert Z.shape == (40, 2) and np.all(np.isfinite(Z))
    assert np.all(np.isfinite(vae.score_samples(X)))
    # Training can go on from there.
    vae.set_params(warm_start=True, encoder=None)
    vae.net_.module_.encoder.interrupt_at = -1
    vae.fit(X)
    assert vae.n_iter_ == 7


def test_hidden_layer_sizes_int_or_positive_ints():
    X = _X()
    vae = VAETransformer(**{**FAST, "hidden_layer_sizes": 8, "n_components": 2}).fit(X)
    assert vae.transform(X).shape == (40, 2)
    for bad in [(0,), (8, -1), (16.5,)]:
        with pytest.raises(ValueError, match="hidden_layer_sizes must be a positive"):
            VAETransformer(**{**FAST, "hidden_layer_sizes": bad}).fit(X)


def test_interrupt_outside_the_training_loop_undoes_the_refit(monkeypatch):
    """Ctrl-C while a refit builds its networks (outside skorch's loop, which
    keeps the epochs done) leaves the previous model as it was."""
    X = _X()
    vae = VAETransformer(n_components=2, **FAST).fit(X)
    Z, S = vae.transform(X), vae.score_samples(X)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(VAETransformer, "_new_net", interrupted)
    with pytest.raises(KeyboardInterrupt):
        vae.set_params(n_components=5).fit(X)
    monkeypatch.undo()
    vae.set_params(n_components=2)
    np.testing.assert_array_equal(vae.transform(X), Z)
    np.testing.assert_array_equal(vae.score_samples(X), S)
