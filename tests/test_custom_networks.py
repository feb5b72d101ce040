"""User-supplied torch encoders and decoders: a small conv VAE on 8 x 8 digits.

Given as classes (built with ``*_kwargs`` plus ``n_components``/``n_features``
where their signature takes them) or as instances (deep-copied, never
modified); shapes checked with a clear error; everything else unchanged.
"""

import pickle

import joblib
import numpy as np
import pytest
import torch
from shared import fast
from sklearn.base import clone
from sklearn.datasets import load_digits
from torch import nn

from skvae import VAETransformer

SIDE = 8


class ConvEncoder(nn.Module):
    """(batch, 64) -> 8 x 8 image -> two convolutions -> (z_loc, z_logvar)."""

    def __init__(self, n_components, channels=8):
        super().__init__()
        self.channels = channels
        self.body = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1),  # 8 -> 4
            nn.ReLU(),
            nn.Flatten(),
        )
        width = channels * (SIDE // 2) ** 2
        self.z_loc = nn.Linear(width, n_components)
        self.z_logvar = nn.Linear(width, n_components)

    def forward(self, x):
        h = self.body(x.reshape(-1, 1, SIDE, SIDE))
        return self.z_loc(h), self.z_logvar(h)


class ConvDecoder(nn.Module):
    """z -> 4 x 4 feature maps -> transposed convolution -> (batch, 64) logits."""

    def __init__(self, n_components, n_features, channels=8):
        super().__init__()
        assert n_features == SIDE * SIDE
        self.channels = channels
        self.fc = nn.Linear(n_components, channels * (SIDE // 2) ** 2)
        self.up = nn.ConvTranspose2d(channels, 1, 4, stride=2, padding=1)  # 4 -> 8

    def forward(self, z):
        h = torch.relu(self.fc(z)).reshape(-1, self.channels, SIDE // 2, SIDE // 2)
        return self.up(h).flatten(1)


class LocOnlyEncoder(nn.Module):
    """Wrong: returns z_loc alone instead of (z_loc, z_logvar)."""

    def __init__(self, n_features, n_components):
        super().__init__()
        self.layer = nn.Linear(n_features, n_components)

    def forward(self, x):
        return self.layer(x)


@pytest.fixture(scope="module")
def digits():
    X, _ = load_digits(return_X_y=True)
    return (X[:120] / 16.0).astype(np.float32)


FAST = fast(n_components=2, batch_size=32, without=["hidden_layer_sizes"])


def _conv_vae(**params):
    return VAETransformer(
        likelihood="bernoulli",
        encoder=ConvEncoder,
        encoder_kwargs={"channels": 4},
        decoder=ConvDecoder,
        decoder_kwargs={"channels": 4},
        **{**FAST, **params},
    )


def test_classes_with_kwargs_are_built_with_the_sizes(digits):
    vae = _conv_vae().fit(digits)
    encoder, decoder = vae.net_.module_.encoder, vae.net_.module_.decoder
    assert isinstance(encoder, ConvEncoder) and encoder.channels == 4
    assert isinstance(decoder, ConvDecoder) and decoder.channels == 4
    assert encoder.z_loc.out_features == 2 and decoder.fc.in_features == 2
    assert vae.transform(digits).shape == (120, 2)
    assert vae.n_iter_ == 3 and len(vae.net_.history) == 3
    # Built inside the seeded random state: a refit is the same model.
    np.testing.assert_array_equal(
        vae.transform(digits), _conv_vae().fit(digits).transform(digits)
    )


def test_instances_are_copied_never_modified(digits):
    encoder, decoder = ConvEncoder(2, channels=4), ConvDecoder(2, 64, channels=4)
    hashes = joblib.hash(encoder), joblib.hash(decoder)
    vae = VAETransformer(
        likelihood="bernoulli", encoder=encoder, decoder=decoder, **FAST
    ).fit(digits)
    assert (joblib.hash(encoder), joblib.hash(decoder)) == hashes
    assert vae.encoder is encoder and vae.decoder is decoder
    assert vae.net_.module_.encoder is not encoder
    assert not torch.equal(vae.net_.module_.encoder.z_loc.weight, encoder.z_loc.weight)
    # Each fit starts again from the instance's weights.
    Z = vae.transform(digits)
    np.testing.assert_array_equal(Z, vae.fit(digits).transform(digits))
    # sklearn's clone deep-copies module parameters, so GridSearchCV works.
    twin = clone(vae)
    assert twin.encoder is not encoder
    np.testing.assert_array_equal(Z, twin.fit(digits).transform(digits))


def test_custom_encoder_with_default_decoder_gaussian(digits):
    vae = VAETransformer(encoder=ConvEncoder, **FAST).fit(digits)
    assert isinstance(vae.net_.module_.encoder, ConvEncoder)
    assert vae.inverse_transform(vae.transform(digits)).shape == digits.shape
    assert np.isfinite(vae.score(digits))


def test_score_sample_and_persistence_unchanged(digits, tmp_path):
    vae = _conv_vae().fit(digits)
    scores = vae.score_samples(digits)
    assert scores.shape == (120,) and np.all(np.isfinite(scores))
    assert vae.score(digits) == pytest.approx(scores.mean())
    iw = vae.score_samples_iw(digits[:10], n_importance_samples=32)
    assert iw.shape == (10,) and np.all(np.isfinite(iw))
    means = vae.sample(5, random_state=0)
    assert means.shape == (5, 64) and 0 <= means.min() and means.max() <= 1
    draws = vae.sample(5, random_state=0, decoder_noise=True)
    assert set(np.unique(draws)) <= {0.0, 1.0}
    for loaded in (
        pickle.loads(pickle.dumps(vae)),
        joblib.load(joblib.dump(vae, tmp_path / "conv.joblib")[0]),
    ):
        np.testing.assert_array_equal(loaded.transform(digits), vae.transform(digits))
        np.testing.assert_array_equal(loaded.score_samples(digits), scores)
        np.testing.assert_array_equal(loaded.sample(5, random_state=0), means)


def test_custom_networks_train_warm_start_and_partial_fit(digits):
    vae = _conv_vae(warm_start=True, learning_rate=1e-2).fit(digits)
    vae.fit(digits)
    vae.partial_fit(digits[:40])
    assert vae.n_iter_ == 7
    assert vae.loss_curve_[-2] < vae.loss_curve_[0]


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"encoder": LocOnlyEncoder},
            r"encoder must return \(z_loc, z_logvar\).*\(2, 2\).*Tensor",
        ),
        (
            {"encoder": ConvEncoder(3)},
            r"encoder must return.*\(2, 2\); it returned \[\(2, 3\), \(2, 3\)\]",
        ),
        (
            {"decoder": ConvDecoder(3, 64)},
            r"decoder failed on codes of shape \(2, 2\)",
        ),
        (
            {"decoder": nn.Linear(2, 10)},
            r"decoder must return one tensor of shape \(batch, n_features\) = "
            r"\(2, 64\); it returned \(2, 10\)",
        ),
        (
            {"encoder": nn.Linear(10, 2)},
            r"encoder failed on a batch of shape \(2, 64\)",
        ),
        (
            {"encoder": ConvEncoder(2), "encoder_kwargs": {"channels": 4}},
            r"encoder_kwargs only apply when encoder is a class",
        ),
    ],
    ids=[
        "loc-only",
        "wrong-latent-width",
        "decoder-input",
        "decoder-output",
        "encoder-input",
        "kwargs-with-instance",
    ],
)
def test_wrong_networks_give_a_clear_error(digits, params, message):
    vae = VAETransformer(**{**FAST, **params})
    with pytest.raises(ValueError, match=message):
        vae.fit(digits)
    assert not hasattr(vae, "net_")


def test_class_that_builds_no_module_is_a_type_error(digits):
    with pytest.raises(TypeError, match="torch.nn.Module"):
        VAETransformer(encoder=lambda **kw: "not a module", **FAST).fit(digits)


class NoisyNormEncoder(nn.Module):
    """Dropout and batch norm: layers whose train mode draws noise or learns."""

    def __init__(self, n_features, n_components):
        super().__init__()
        self.norm = nn.BatchNorm1d(n_features)
        self.drop = nn.Dropout(0.5)
        self.out = nn.Linear(n_features, 2 * n_components)

    def forward(self, x):
        return self.out(self.drop(self.norm(x))).chunk(2, dim=1)


def test_shape_check_draws_no_noise_and_learns_nothing(digits):
    """Checking a custom network's shapes runs it in eval mode, inside the
    seeded generator: the caller's torch RNG is untouched and batch norm learns
    nothing before training."""
    torch_state = torch.random.get_rng_state()
    vae = VAETransformer(encoder=NoisyNormEncoder, max_iter=1, random_state=0)
    built = vae.fit(digits[:64]).net_
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    norm = built.module_.encoder.norm
    # The training batches of the one iteration (16 one-batch epochs of these
    # 64 rows), no more: the shape check tracked nothing.
    assert int(norm.num_batches_tracked) == vae.net_.n_weight_updates_ == 16
