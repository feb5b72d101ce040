"""Torch model of the VAE: MLP encoder, MLP decoder, and the module joining them.

Kingma & Welling, *Auto-Encoding Variational Bayes* (2013, arXiv:1312.6114),
appendices B and C, and Burda et al., *Importance Weighted Autoencoders*
(2016, arXiv:1509.00519). The model computes its own objectives (the ELBO's
terms, the importance weights); torch only: nothing here sees numpy, sklearn
or skorch, or validates user input.
"""

import math
from typing import NamedTuple

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
}


def gaussian_kl_per_dim(z_loc, z_logvar):
    """KL(N(z_loc, exp(z_logvar)) || N(0, 1)) of each latent dimension, in nats.

    Kingma & Welling (2013), appendix B:
    ``-1/2 (1 + log sigma^2 - mu^2 - sigma^2)``, elementwise.
    """
    return -0.5 * (1.0 + z_logvar - z_loc.pow(2) - z_logvar.exp())


def gaussian_kl(z_loc, z_logvar):
    """KL(q(z|x) || p(z)) of each row, summed over the latent dimensions (nats)."""
    return gaussian_kl_per_dim(z_loc, z_logvar).sum(dim=-1)


def make_hidden(n_in, hidden_layer_sizes, activation="relu"):
    """Layers ``n_in -> *hidden_layer_sizes``, each followed by ``activation``."""
    layers = []
    for width in hidden_layer_sizes:
        layers += [nn.Linear(n_in, width), ACTIVATIONS[activation]()]
        n_in = width
    return nn.Sequential(*layers)


def make_mlp(n_in, hidden_layer_sizes, n_out, activation="relu"):
    """Linear layers ``n_in -> *hidden_layer_sizes -> n_out``; the last is linear."""
    width = hidden_layer_sizes[-1] if len(hidden_layer_sizes) else n_in
    return nn.Sequential(
        make_hidden(n_in, hidden_layer_sizes, activation), nn.Linear(width, n_out)
    )


class Encoder(nn.Module):
    """Gaussian MLP encoder q_phi(z|x) = N(z_loc(x), diag(exp(z_logvar(x)))).

    AEVB appendix C.2: ``h = act(W1 x + b1)`` (more hidden layers allowed),
    ``z_loc = W2 h + b2``, ``z_logvar = W3 h + b3``. The input is first
    standardized with fixed per-feature ``input_loc`` and ``input_scale``
    (training statistics), so the network sees features of unit scale whatever
    the data units. Its weights and biases are phi.

    Parameters
    ----------
    n_features : int
        Width of x.
    n_components : int
        Width of z.
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Hidden layer widths.
    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='relu'
        Activation after each hidden layer.
    input_loc, input_scale : array-like of shape (n_features,), default=None
        Standardization of the input (None: 0 and 1).
    """

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes=(256, 256),
        activation="relu",
        input_loc=None,
        input_scale=None,
    ):
        super().__init__()
        hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.body = make_hidden(n_features, hidden_layer_sizes, activation)
        width = hidden_layer_sizes[-1] if hidden_layer_sizes else n_features
        self.z_loc_layer = nn.Linear(width, n_components)
        self.z_logvar_layer = nn.Linear(width, n_components)
        self.register_buffer("input_loc", _vector(input_loc, n_features, 0.0))
        self.register_buffer("input_scale", _vector(input_scale, n_features, 1.0))

    def forward(self, x):
        """Map x, shape (batch, n_features), to ``(z_loc, z_logvar)``.

        Each is of shape (batch, n_components); ``z_logvar`` is log sigma^2.
        """
        h = self.body((x - self.input_loc) / self.input_scale)
        return self.z_loc_layer(h), self.z_logvar_layer(h)


class Decoder(nn.Module):
    """MLP decoder: z -> the likelihood's parameters (e.g. the mean or the logits).

    AEVB appendix C: ``out = W5 act(W4 z + b4) + b5`` (hidden layers as given),
    then a fixed per-output affine map ``out_loc + out_scale * out`` that
    places the output near the data from the start of training (the
    likelihood's :meth:`~skvae.likelihoods.Likelihood.initialize` chooses it:
    the training mean and standard deviation for a Gaussian, the logit of the
    training mean for a Bernoulli). Its weights and biases are theta.

    Parameters
    ----------
    n_components : int
        Width of z.
    n_features : int
        Width of the output (the likelihood's ``n_outputs``; one per feature
        for the built-in likelihoods).
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Hidden layer widths (the estimator passes the encoder's, reversed).
    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='relu'
        Activation after each hidden layer.
    out_loc, out_scale : array-like of shape (n_features,), default=None
        The fixed output map (None: 0 and 1).
    """

    def __init__(
        self,
        n_components,
        n_features,
        hidden_layer_sizes=(256, 256),
        activation="relu",
        out_loc=None,
        out_scale=None,
    ):
        super().__init__()
        self.body = make_mlp(n_components, hidden_layer_sizes, n_features, activation)
        self.register_buffer("out_loc", _vector(out_loc, n_features, 0.0))
        self.register_buffer("out_scale", _vector(out_scale, n_features, 1.0))

    def forward(self, z):
        """Map z, shape (batch, n_components), to shape (batch, n_features)."""
        return self.out_loc + self.out_scale * self.body(z)


class ElboTerms(NamedTuple):
    """The ELBO's two terms for each row, in nats.

    Attributes
    ----------
    log_px : torch.Tensor of shape (batch,)
        Monte Carlo estimate of E_q[log p(x | z)] (the reconstruction term).
    kl : torch.Tensor of shape (batch,)
        KL(q(z | x) || p(z)), in closed form.
    """

    log_px: torch.Tensor
    kl: torch.Tensor


class TrainingTerms(NamedTuple):
    """What one training step needs, for one reparameterized z per row.

    Attributes
    ----------
    log_px : torch.Tensor of shape (batch,)
        log p(x | z) at the sampled z.
    kl_per_dim : torch.Tensor of shape (batch, n_components)
        Closed-form KL of each latent dimension.
    """

    log_px: torch.Tensor
    kl_per_dim: torch.Tensor


class VAEModule(nn.Module):
    """Encoder, reparameterized sample, decoder and likelihood (AEVB section 2.4).

    Computes the model's own objectives: :meth:`forward` (the terms of one
    training step), :meth:`elbo` and :meth:`log_importance_weights`.

    Parameters
    ----------
    encoder : nn.Module
        Maps x of shape (batch, n_features) to ``(z_loc, z_logvar)``, each of
        shape (batch, n_components).
    decoder : nn.Module
        Maps z of shape (batch, n_components) to the likelihood's parameters,
        shape (batch, n_outputs).
    likelihood : skvae.likelihoods.Likelihood
        Observation model p(x|z) given the decoder's output.
    """

    def __init__(self, encoder, decoder, likelihood):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood

    def encode(self, x):
        """``(z_loc, z_logvar)`` of q_phi(z|x), each (batch, n_components)."""
        return self.encoder(x)

    @staticmethod
    def reparameterize(z_loc, z_logvar, eps=None):
        """z = z_loc + sigma * eps, eps ~ N(0, I) (AEVB section 2.4, eq. 4).

        ``eps`` (drawn from torch's global generator when None) broadcasts
        against ``z_loc``: shape (S, 1, n_components) gives S draws per row
        shared by all rows, (S, batch, n_components) S draws of each row's own.
        """
        if eps is None:
            eps = torch.randn_like(z_loc)
        return z_loc + torch.exp(0.5 * z_logvar) * eps

    def decode(self, z):
        """The likelihood's parameters for codes z, shape (..., n_outputs)."""
        return self.decoder(z)

    def log_px_draws(self, x, z_loc, z_logvar, eps):
        """log p(x | z_s) for z_s = z_loc + sigma * eps_s: shape (S, batch).

        ``eps`` has shape (S, 1, n_components) or (S, batch, n_components).
        Also returns the codes ``z`` of shape (S, batch, n_components).
        """
        z = self.reparameterize(z_loc[None], z_logvar[None], eps)
        n_draws, n_rows = z.shape[:2]
        decoder_out = self.decode(z.reshape(n_draws * n_rows, -1))
        decoder_out = decoder_out.reshape(n_draws, n_rows, -1)
        x = x.expand(n_draws, *x.shape)
        return self.likelihood.log_prob(x, decoder_out), z

    def forward(self, x):
        """Terms of one training step, with one z per row from torch's generator.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)

        Returns
        -------
        TrainingTerms
            ``log_px`` of shape (batch,) and ``kl_per_dim`` of shape
            (batch, n_components).
        """
        z_loc, z_logvar = self.encode(x)
        z = self.reparameterize(z_loc, z_logvar)
        log_px = self.likelihood.log_prob(x, self.decode(z))
        return TrainingTerms(log_px, gaussian_kl_per_dim(z_loc, z_logvar))

    def elbo(self, x, eps):
        """The ELBO's terms of each row (AEVB eq. 10, KL of appendix B).

        ``ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z))``, the expectation
        averaged over the S noise draws ``eps``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
        eps : torch.Tensor of shape (S, 1 or batch, n_components)
            Standard normal noise.

        Returns
        -------
        ElboTerms
            ``log_px`` and ``kl``, each of shape (batch,), nats.
        """
        z_loc, z_logvar = self.encode(x)
        log_px, _ = self.log_px_draws(x, z_loc, z_logvar, eps)
        return ElboTerms(log_px.mean(dim=0), gaussian_kl(z_loc, z_logvar))

    def log_importance_weights(self, x, eps):
        """log w_s = log p(x | z_s) + log p(z_s) - log q(z_s | x): shape (S, batch).

        Burda et al. (2016), eq. 8: ``log (1/S) sum_s w_s`` is a lower bound
        on log p(x) that tightens as S grows (see :meth:`iw_log_likelihood`).
        With ``z_s = mu + sigma * eps_s``,
        ``log p(z_s) - log q(z_s | x) = 1/2 sum_j (eps_j^2 - z_j^2 + log sigma_j^2)``
        (the log(2 pi) terms cancel).

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
        eps : torch.Tensor of shape (S, 1 or batch, n_components)
        """
        z_loc, z_logvar = self.encode(x)
        log_px, z = self.log_px_draws(x, z_loc, z_logvar, eps)
        log_pz_over_qz = 0.5 * (eps.pow(2) - z.pow(2) + z_logvar).sum(dim=-1)
        return log_px + log_pz_over_qz

    def iw_log_likelihood(self, x, eps):
        """Importance-weighted estimate of log p(x), shape (batch,), in nats.

        ``log (1/S) sum_s w_s`` (Burda et al. 2016, eq. 8); S = 1 is a
        one-sample ELBO with a sampled KL.
        """
        log_w = self.log_importance_weights(x, eps)
        return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def _vector(values, size, default):
    if values is None:
        return torch.full((size,), default)
    return torch.as_tensor(values, dtype=torch.float32).reshape(size)
