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

LOG_2PI = math.log(2.0 * math.pi)
# Gauss-Newton steps of imputation's Laplace proposal (VAEModule.impute).
LAPLACE_STEPS = 3


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

    With ``linear_path`` (the default), a linear map of the standardized input
    runs beside the MLP: ``z_loc = A u + c + W2 h + b2`` and ``z_logvar = d +
    W3 h + b3``, with the MLP's output layers started at zero, so that the
    encoder contains the exact posterior of factor analysis (linear in x,
    constant variance) and can start there (``skvae._factory``).

    Missing entries (``observed`` False) enter as 0 in the standardized space,
    i.e. at the training mean; with ``mask_inputs``, the missingness mask is
    also given to the network as ``n_features`` extra inputs (1 observed, 0
    missing), as in MIWAE (Mattei & Frellsen 2019, section 3). Once
    :meth:`set_conditional_fill` has been given a factor analysis of the
    standardized data (the start of a fit on rows with missing entries), a
    missing entry enters as its conditional mean given the row's observed
    entries under that factor analysis instead, ``E[u_m | u_o] = W_m E[z |
    u_o] + m_m`` with ``E[z | u_o] = (I + W_o^T Psi_o^-1 W_o)^-1 W_o^T
    Psi_o^-1 (u_o - m_o)`` (Bishop 2006, section 12.2.4, on the observed
    entries), where a mean-filled row pulls the encoder's output toward 0.
    That factor analysis models the inputs only, with up to twice as many
    factors as z has dimensions (:func:`fill_components`): on the imputation
    benchmark, 20 factors for a 10-dimensional z filled breast_cancer's
    missing-at-random entries better than 10 (VAEImputer's error 0.175
    against 0.194).

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
    mask_inputs : bool, default=False
        Give the network the missingness mask as extra inputs.
    linear_path : bool, default=True
        Add the linear path beside the MLP (False: the plain MLP of skvae 0.1).
    """

    #: ``forward`` takes the missingness mask (see VAEModule.encode).
    takes_mask = True

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes=(256, 256),
        activation="relu",
        input_loc=None,
        input_scale=None,
        mask_inputs=False,
        linear_path=True,
    ):
        super().__init__()
        hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.mask_inputs = bool(mask_inputs)
        n_in = 2 * n_features if self.mask_inputs else n_features
        self.body = make_hidden(n_in, hidden_layer_sizes, activation)
        width = hidden_layer_sizes[-1] if hidden_layer_sizes else n_in
        self.z_loc_layer = nn.Linear(width, n_components)
        self.z_logvar_layer = nn.Linear(width, n_components)
        self.linear_path = bool(linear_path)
        if self.linear_path:
            self.linear = nn.Linear(n_features, n_components)
            self.logvar_bias = nn.Parameter(torch.zeros(n_components))
            _zero(self.z_loc_layer, self.z_logvar_layer)
        self.register_buffer("input_loc", _vector(input_loc, n_features, 0.0))
        self.register_buffer("input_scale", _vector(input_scale, n_features, 1.0))
        # The conditional fill's factor analysis (standardized units): zero
        # loadings fill every missing entry with 0, the training mean.
        width = n_features if self.mask_inputs else 0
        k_fill = fill_components(n_features, n_components) if self.mask_inputs else 0
        self.register_buffer("fill_loadings", torch.zeros(width, k_fill))
        self.register_buffer("fill_noise_variance", torch.ones(width))
        self.register_buffer("fill_mean", torch.zeros(width))

    def set_conditional_fill(self, loadings, noise_variance, mean):
        """Fill missing inputs from a factor analysis of the standardized data.

        Parameters
        ----------
        loadings : array-like of shape (n_features, n_factors)
            The loadings W, in standardized units; ``n_factors`` is
            ``fill_components(n_features, n_components)``.
        noise_variance : array-like of shape (n_features,)
            The noise variances Psi, positive, in standardized units.
        mean : array-like of shape (n_features,)
            The mean m, in standardized units.
        """
        if not self.mask_inputs:
            return
        with torch.no_grad():
            for buffer, value in (
                (self.fill_loadings, loadings),
                (self.fill_noise_variance, noise_variance),
                (self.fill_mean, mean),
            ):
                buffer.copy_(torch.as_tensor(value, dtype=buffer.dtype))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Files written before the conditional fill hold no fill buffers:
        # they load with the mean fill they were fitted with.
        for name in ("fill_loadings", "fill_noise_variance", "fill_mean"):
            state_dict.setdefault(prefix + name, getattr(self, name).clone())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _fill(self, u, observed):
        """Missing entries of u (standardized) replaced by their fill."""
        W = self.fill_loadings.to(u.dtype)
        if W.numel() == 0 or not bool(W.any()):
            return torch.where(observed, u, 0.0)
        psi = self.fill_noise_variance.to(u.dtype)
        m = self.fill_mean.to(u.dtype)
        k = W.shape[1]
        precision = observed.to(u.dtype) / psi  # Psi_o^-1, 0 where missing
        outer = (W[:, :, None] * W[:, None, :]).reshape(len(W), k * k)
        M = (precision @ outer).reshape(*u.shape[:-1], k, k)
        M = M + torch.eye(k, dtype=u.dtype, device=u.device)
        rhs = (torch.where(observed, u - m, 0.0) * precision) @ W
        z = torch.linalg.solve(M, rhs.unsqueeze(-1)).squeeze(-1)
        return torch.where(observed, u, z @ W.T + m)

    def forward(self, x, observed=None):
        """Map x, shape (batch, n_features), to ``(z_loc, z_logvar)``.

        Each is of shape (batch, n_components); ``z_logvar`` is log sigma^2.
        ``observed`` (bool, same shape as x, or None for all) marks the
        entries that count; the others must be finite (any value).
        """
        u = (x - self.input_loc) / self.input_scale
        if observed is not None:
            u = self._fill(u, observed)
        h = u
        if self.mask_inputs:
            mask = torch.ones_like(u) if observed is None else observed.to(u.dtype)
            h = torch.cat([u, mask], dim=-1)
        h = self.body(h)
        z_loc, z_logvar = self.z_loc_layer(h), self.z_logvar_layer(h)
        if self.linear_path:
            z_loc = z_loc + self.linear(u)
            z_logvar = z_logvar + self.logvar_bias
        return z_loc, z_logvar


class Decoder(nn.Module):
    """MLP decoder: z -> the likelihood's parameters (e.g. the mean or the logits).

    AEVB appendix C: ``out = W5 act(W4 z + b4) + b5`` (hidden layers as given),
    then a fixed per-output affine map ``out_loc + out_scale * out`` that
    places the output near the data from the start of training (the
    likelihood's :meth:`~skvae.likelihoods.Likelihood.initialize` chooses it:
    the training mean and standard deviation for a Gaussian, the logit of the
    training mean for a Bernoulli). With ``linear_path`` (the default), a
    linear map runs beside the MLP, ``out = W z + b + MLP(z)``, the MLP's
    last layer started at zero: the decoder contains factor analysis's linear
    one. Its weights and biases are theta.

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
    linear_path : bool, default=True
        Add the linear path beside the MLP (False: the plain MLP of skvae 0.1).
    """

    def __init__(
        self,
        n_components,
        n_features,
        hidden_layer_sizes=(256, 256),
        activation="relu",
        out_loc=None,
        out_scale=None,
        linear_path=True,
    ):
        super().__init__()
        self.body = make_mlp(n_components, hidden_layer_sizes, n_features, activation)
        self.linear_path = bool(linear_path)
        if self.linear_path:
            self.linear = nn.Linear(n_components, n_features)
            _zero(self.body[-1])
        self.register_buffer("out_loc", _vector(out_loc, n_features, 0.0))
        self.register_buffer("out_scale", _vector(out_scale, n_features, 1.0))

    def forward(self, z):
        """Map z, shape (batch, n_components), to shape (batch, n_features)."""
        out = self.body(z)
        if self.linear_path:
            out = out + self.linear(z)
        return self.out_loc + self.out_scale * out


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
    """What one training step needs, for S reparameterized draws of z per row.

    Attributes
    ----------
    log_px : torch.Tensor of shape (S, batch)
        log p(x | z_s) at the sampled codes.
    kl_per_dim : torch.Tensor of shape (batch, n_components)
        Closed-form KL of each latent dimension.
    log_pz_over_qz : torch.Tensor of shape (S, batch) or None
        log p(z_s) - log q(z_s | x), for importance weights (S > 1 only).
    """

    log_px: torch.Tensor
    kl_per_dim: torch.Tensor
    log_pz_over_qz: torch.Tensor | None = None


class VAEModule(nn.Module):
    """Encoder, reparameterized sample, decoder and likelihood (AEVB section 2.4).

    Computes the model's own objectives: :meth:`forward` (the terms of one
    training step), :meth:`elbo`, :meth:`log_importance_weights` and
    :meth:`iw_log_likelihood`. Each takes rows with missing entries (NaN): the
    likelihood counts the observed entries only (the ELBO of x_obs, a bound
    on log p(x_obs); Mattei & Frellsen 2019, eq. 4), the encoder sees them
    filled with ``fill_value`` (and the mask, when it takes one), and a row
    with nothing observed gets the prior, q(z|x) = N(0, I).

    Parameters
    ----------
    encoder : nn.Module
        Maps x of shape (batch, n_features) to ``(z_loc, z_logvar)``, each of
        shape (batch, n_components). If it has ``takes_mask = True`` (as
        :class:`Encoder`), it is called as ``encoder(x, observed)``.
    decoder : nn.Module
        Maps z of shape (batch, n_components) to the likelihood's parameters,
        shape (batch, n_outputs).
    likelihood : skvae.likelihoods.Likelihood
        Observation model p(x|z) given the decoder's output.
    fill_value : array-like of shape (n_features,), default=None
        What missing entries are replaced by before the encoder (the training
        means; None: 0).
    """

    def __init__(self, encoder, decoder, likelihood, fill_value=None):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        if fill_value is not None:
            fill_value = torch.as_tensor(fill_value, dtype=torch.float32)
        else:
            fill_value = torch.zeros(0)
        self.register_buffer("fill_value", fill_value)

    def fill_missing(self, x):
        """``(x with NaN filled, observed mask)``; the mask is None when x is whole."""
        observed = ~torch.isnan(x)
        if bool(observed.all()):
            return x, None
        fill = self.fill_value if self.fill_value.numel() else x.new_zeros(())
        return torch.where(observed, x, fill), observed

    def encode(self, x):
        """``(z_loc, z_logvar)`` of q_phi(z|x), each (batch, n_components).

        x may hold NaN (missing entries).
        """
        return self._encode(*self.fill_missing(x))

    def _encode(self, x, observed):
        if observed is None:
            return self.encoder(x)
        if getattr(self.encoder, "takes_mask", False):
            z_loc, z_logvar = self.encoder(x, observed)
        else:
            z_loc, z_logvar = self.encoder(x)
        seen = observed.any(dim=-1, keepdim=True)  # nothing seen: the prior
        return torch.where(seen, z_loc, 0.0), torch.where(seen, z_logvar, 0.0)

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

    def _log_px_draws(self, x, observed, z_loc, z_logvar, eps):
        """log p(x | z_s), shape (S, batch), and the codes z_s, (S, batch, k)."""
        z = self.reparameterize(z_loc[None], z_logvar[None], eps)
        n_draws, n_rows = z.shape[:2]
        decoder_out = self.decode(z.reshape(n_draws * n_rows, -1))
        decoder_out = decoder_out.reshape(n_draws, n_rows, -1)
        x = x.expand(n_draws, *x.shape)
        if observed is not None:
            observed = observed.expand(n_draws, *observed.shape)
        return self.likelihood.log_prob(x, decoder_out, observed), z

    def forward(self, x, n_samples=1, generator=None):
        """Terms of one training step, with S = ``n_samples`` draws of z per row.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Rows; NaN marks a missing entry.
        n_samples : int, default=1
            S; the importance weights are returned when S > 1.
        generator : torch.Generator, default=None
            Draws the noise (None: torch's global generator).

        Returns
        -------
        TrainingTerms
            The log-likelihoods log p(x | z_s), shape (S, batch), the KL of each latent
            dimension of shape (batch, n_components), and log p(z_s) -
            log q(z_s | x) of shape (S, batch) when S > 1.
        """
        x, observed = self.fill_missing(x)
        z_loc, z_logvar = self._encode(x, observed)
        eps = torch.randn(
            (n_samples, *z_loc.shape),
            generator=generator,
            dtype=z_loc.dtype,
            device=z_loc.device,
        )
        log_px, z = self._log_px_draws(x, observed, z_loc, z_logvar, eps)
        ratio = _log_pz_over_qz(eps, z, z_logvar) if n_samples > 1 else None
        return TrainingTerms(log_px, gaussian_kl_per_dim(z_loc, z_logvar), ratio)

    def elbo(self, x, eps):
        """The ELBO's terms of each row (AEVB eq. 10, KL of appendix B).

        ``ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z))``, the expectation
        averaged over the S noise draws ``eps``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Rows; NaN marks a missing entry.
        eps : torch.Tensor of shape (S, 1 or batch, n_components)
            Standard normal noise.

        Returns
        -------
        ElboTerms
            ``log_px`` and ``kl``, each of shape (batch,), nats.
        """
        x, observed = self.fill_missing(x)
        z_loc, z_logvar = self._encode(x, observed)
        log_px, _ = self._log_px_draws(x, observed, z_loc, z_logvar, eps)
        return ElboTerms(log_px.mean(dim=0), gaussian_kl(z_loc, z_logvar))

    def held_out_terms(self, x, eps):
        """The ELBO's terms, mean log-weight and IW bound, from one set of draws.

        Early stopping's monitor is the mean log-weight ``mean_s log w_s``
        (:meth:`log_importance_weights`), the ELBO with a sampled KL: its
        Monte Carlo error vanishes where q(z|x) is the exact posterior (a
        model started at factor analysis), so held-out rows measure any gain
        over that start exactly.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Rows; NaN marks a missing entry.
        eps : torch.Tensor of shape (S, 1 or batch, n_components)
            Standard normal noise.

        Returns
        -------
        log_px, kl, log_w, iw : torch.Tensor of shape (batch,)
            E_q[log p(x|z)], the closed-form KL, the mean log-weight and the
            importance-weighted bound ``log mean_s w_s`` (Burda et al. 2016,
            eq. 8), nats.
        """
        x, observed = self.fill_missing(x)
        z_loc, z_logvar = self._encode(x, observed)
        log_px, z = self._log_px_draws(x, observed, z_loc, z_logvar, eps)
        log_w = log_px + _log_pz_over_qz(eps, z, z_logvar)
        iw = torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])
        kl = gaussian_kl(z_loc, z_logvar)
        return log_px.mean(dim=0), kl, log_w.mean(dim=0), iw

    def posterior_draws(self, x, eps):
        """The terms of an importance weight under another prior, per draw.

        With any prior density p, ``log p(x|z_s) + log p(z_s) - log
        q(z_s|x)`` is an importance weight (Burda et al. 2016, eq. 8) and
        ``mean_s [log p(x|z_s) + log p(z_s)] + H[q(z|x)]`` an ELBO (Kingma &
        Welling 2014, eq. 2, with the entropy of the Gaussian q in closed
        form); :class:`~skvae.VAEOutlierDetector` uses them with its ex-post
        prior.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Rows; NaN marks a missing entry.
        eps : torch.Tensor of shape (S, 1 or batch, n_components)
            Standard normal noise: ``z_s = mu + sigma * eps_s``.

        Returns
        -------
        log_px, log_q : torch.Tensor of shape (S, batch)
            The log-densities log p(x | z_s) and log q(z_s | x), nats.
        z : torch.Tensor of shape (S, batch, n_components)
            The draws z_s.
        entropy : torch.Tensor of shape (batch,)
            H[q(z|x)], nats.
        """
        x, observed = self.fill_missing(x)
        z_loc, z_logvar = self._encode(x, observed)
        log_px, z = self._log_px_draws(x, observed, z_loc, z_logvar, eps)
        eps = eps.expand(z.shape)
        log_q = -0.5 * (eps.pow(2) + z_logvar + LOG_2PI).sum(dim=-1)
        entropy = 0.5 * (1.0 + LOG_2PI + z_logvar).sum(dim=-1)
        return log_px, log_q, z, entropy

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
            Rows; NaN marks a missing entry (the weights are then those of
            x_obs, as in MIWAE, Mattei & Frellsen 2019, eq. 5).
        eps : torch.Tensor of shape (S, 1 or batch, n_components)
            Standard normal noise: S draws per row.

        Returns
        -------
        torch.Tensor of shape (S, batch)
            The log-weights, nats.
        """
        x, observed = self.fill_missing(x)
        z_loc, z_logvar = self._encode(x, observed)
        log_px, z = self._log_px_draws(x, observed, z_loc, z_logvar, eps)
        return log_px + _log_pz_over_qz(eps, z, z_logvar)

    def iw_log_likelihood(self, x, eps):
        """Importance-weighted estimate of log p(x), shape (batch,), in nats.

        ``log (1/S) sum_s w_s`` (Burda et al. 2016, eq. 8); S = 1 is a
        one-sample ELBO with a sampled KL.
        """
        log_w = self.log_importance_weights(x, eps)
        return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])

    def impute(self, x, eps):
        """x with each missing entry replaced by its conditional mean E[x_mis | x_obs].

        Self-normalized importance sampling (Mattei & Frellsen 2019, "MIWAE",
        eq. 9) with S proposals z_s drawn from r(z)::

            w_s = p(x_obs | z_s) p(z_s) / r(z_s)
            E[x_mis | x_obs] ~ sum_s (w_s / sum_t w_t) E[x_mis | z_s]

        MIWAE's r is the encoder's q_phi(z | x_obs) (``z_s = z_loc + sigma *
        eps_s``, the weights of :meth:`log_importance_weights`). Where
        :meth:`laplace_posterior` applies (a Gaussian likelihood), the last
        S // 2 draws come instead from its Laplace approximation of
        p(z | x_obs), ``z_s = m + L^-T eps_s``, and r is the mixture of the
        two with those shares (a defensive mixture: Hesterberg 1995; Veach &
        Guibas 1995), so the estimate is as consistent as with q alone and
        its weights are spread over more draws. On breast_cancer (50 % of
        the entries missing completely at random, 3 seeds) the imputations'
        squared error fell from 0.288 to 0.270, and at 20 % from 0.199 to
        0.1708 (IterativeImputer: 0.1712).

        with E[x | z] the likelihood's :meth:`~skvae.likelihoods.Likelihood.mean`
        (its ``mean_missing``: E[x | z, x missing], the same unless the
        likelihood models a value-dependent missingness, as not-MIWAE's
        self-masking model; Ipsen et al. 2021, section 3).
        Consistent as S grows (the bias of a self-normalized estimate is
        O(1/S)). A row with nothing observed gets the prior as proposal and
        equal weights: the mean of E[x | z_s] over z_s ~ p(z).

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Rows; NaN marks a missing entry.
        eps : torch.Tensor of shape (S, 1 or batch, n_components)
            Standard normal noise: S draws per row.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            The rows with their NaN entries filled in; observed entries are
            x's own.
        """
        x, observed, log_w, decoder_out = self._imputation_draws(x, eps)
        if observed is None:
            return x
        weights = torch.softmax(log_w, dim=0).unsqueeze(-1)  # (S, batch, 1)
        x_mean = (weights * self.likelihood.mean_missing(decoder_out)).sum(dim=0)
        return torch.where(observed, x, x_mean)

    def sample_imputation(self, x, eps, seeds):
        """x with each missing entry replaced by a draw from p(x_mis | x_obs).

        Sampling importance resampling (Mattei & Frellsen 2019, section 4.2;
        Rubin 1987): one of the S proposals ``z_s ~ q(z | x_obs)`` is picked
        with probability ``w_s / sum_t w_t`` (the weights of :meth:`impute`),
        then ``x_mis ~ p(x_mis | z_s)`` (the likelihood's
        :meth:`~skvae.likelihoods.Likelihood.sample`). As S grows the draws
        follow p(x_mis | x_obs); the missing entries of a row are drawn
        jointly. Row i draws from its own generator, seeded by ``seeds[i]``,
        so a row's draw does not depend on the other rows of the batch.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Rows; NaN marks a missing entry.
        eps : torch.Tensor of shape (S, 1 or batch, n_components)
            Standard normal noise: S draws per row.
        seeds : torch.Tensor of shape (batch,), int64
            Seed of each row's generator (the resampling and the draw).

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            The rows with their NaN entries drawn; observed entries are x's
            own.
        """
        x, observed, log_w, decoder_out = self._imputation_draws(x, eps)
        if observed is None:
            return x
        weights = torch.softmax(log_w, dim=0)
        draws = torch.empty_like(x)
        for i in range(x.shape[0]):  # per-row generators: row-independent
            generator = torch.Generator(device=x.device)
            generator.manual_seed(int(seeds[i]))
            s = torch.multinomial(weights[:, i], 1, generator=generator)
            draws[i] = self.likelihood.sample_missing(decoder_out[s, i], generator)[0]
        return torch.where(observed, x, draws)

    def conditional_proposals(self, x, eps, prior_fraction=0.5):
        """Codes z_s for rows given their observed entries, with importance weights.

        The proposals of sampling importance resampling (Rubin 1987) from the
        posterior p(z | x_obs): the first ``round(prior_fraction * S)`` draws
        come from the prior, ``z_s = eps_s``, the others from the encoder,
        ``z_s = z_loc + sigma * eps_s``, and each is weighted against the
        mixture of the two (a defensive mixture, Hesterberg 1995, with the
        deterministic-mixture weights of Owen & Zhou 2000)::

            g(z) = a p(z) + (1 - a) q(z | x_obs),  a = prior_fraction
            w_s = p(x_obs | z_s) p(z_s) / g(z_s)

        The encoder alone (a = 0) gives the weights of :meth:`impute` (MIWAE,
        Mattei & Frellsen 2019, eq. 9); the prior's share bounds each weight
        by ``p(x_obs | z_s) / a``, so that an encoder that never saw rows with
        so many entries missing (a model trained on complete rows, asked about
        one column) cannot make the weights degenerate. Resampling the z_s
        with probabilities ``w_s / sum_t w_t`` and drawing x_mis from
        p(x_mis | z_s) then draws from p(x_mis | x_obs) as S grows.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Rows; NaN marks a missing entry (the entries to draw).
        eps : torch.Tensor of shape (S, 1 or batch, n_components)
            Standard normal noise.
        prior_fraction : float in [0, 1], default=0.5
            The prior's share a of the proposals.

        Returns
        -------
        z : torch.Tensor of shape (S, batch, n_components)
            The proposals.
        log_w : torch.Tensor of shape (S, batch)
            Their log importance weights, nats (unnormalized).
        """
        x, observed = self.fill_missing(x)
        z_loc, z_logvar = self._encode(x, observed)
        n_draws = eps.shape[0]
        n_prior = int(round(prior_fraction * n_draws))
        eps = eps.expand(n_draws, *z_loc.shape)
        z_q = self.reparameterize(z_loc[None], z_logvar[None], eps)
        z = torch.cat([eps[:n_prior], z_q[n_prior:]], dim=0)
        log_prior = -0.5 * (z.pow(2) + LOG_2PI).sum(dim=-1)
        log_q = -0.5 * ((z - z_loc).pow(2) / z_logvar.exp() + z_logvar + LOG_2PI).sum(
            dim=-1
        )
        log_a = math.log(prior_fraction) if prior_fraction > 0 else -math.inf
        log_b = math.log1p(-prior_fraction) if prior_fraction < 1 else -math.inf
        log_g = torch.logaddexp(log_prior + log_a, log_q + log_b)
        decoder_out = self.decode(z.reshape(n_draws * len(x), -1))
        decoder_out = decoder_out.reshape(n_draws, len(x), -1)
        if observed is None:  # nothing to draw: the weights of the whole row
            observed = torch.ones_like(x, dtype=torch.bool)
        log_px = self.likelihood.log_prob(
            x.expand(n_draws, *x.shape),
            decoder_out,
            observed.expand(n_draws, *observed.shape),
        )
        return z, log_px + log_prior - log_g

    def _imputation_draws(self, x, eps):
        """x filled, its mask, log w_s of shape (S, batch), decoder outputs.

        The proposals are those of :meth:`impute`: q_phi(z | x_obs), or with a
        Laplace proposal, the first S - S // 2 draws from q_phi and the rest
        from the Laplace approximation, weighted by their mixture.
        """
        x, observed = self.fill_missing(x)
        if observed is None:
            return x, None, None, None
        z_loc, z_logvar = self._encode(x, observed)
        laplace = self.laplace_posterior(x, observed, z_loc)
        if laplace is None:
            z = self.reparameterize(z_loc[None], z_logvar[None], eps)
            log_pz_over_q = _log_pz_over_qz(eps, z, z_logvar)
        else:
            z, log_pz_over_q = _defensive_draws(z_loc, z_logvar, *laplace, eps)
        n_draws, n_rows = z.shape[:2]
        decoder_out = self.decode(z.reshape(n_draws * n_rows, -1))
        decoder_out = decoder_out.reshape(n_draws, n_rows, -1)
        log_px = self.likelihood.log_prob(
            x.expand(n_draws, *x.shape),
            decoder_out,
            observed.expand(n_draws, *observed.shape),
        )
        return x, observed, log_px + log_pz_over_q, decoder_out

    def laplace_posterior(self, x, observed, z_loc):
        """A Gaussian approximation N(m, P^-1) of p(z | x_obs), or None.

        The Laplace approximation of the posterior given a row's observed
        entries, with the decoder linearized (Gauss-Newton; Nocedal & Wright
        2006, section 10.3; MacKay 2003, ch. 27): from ``z_0 = z_loc``, each
        of ``LAPLACE_STEPS`` steps takes the decoder's Jacobian J at z_t
        and sets::

            P = I + J^T W J,    z_{t+1} = P^-1 J^T W (x - f(z_t) + J z_t)

        with f the decoder's mean and W the observed entries' precisions
        1 / sigma_j^2 (0 where x_j is missing): the mode and curvature of
        log p(z) + log p(x_obs | z) for a decoder linear around z_t. For a
        linear decoder (factor analysis, as the model starts) it is the exact
        posterior after one step. J is a forward difference, one decoder pass
        per latent dimension (step sqrt(machine epsilon); Nocedal & Wright,
        section 8.1): a proposal need not be exact, the importance weights
        are. The encoder, trained on rows with their own missing entries,
        approximates the same posterior amortized over rows; on
        breast_cancer with 50 % missing, 10 of its 100 proposals carried
        weight (effective sample size) against 35 to 57 of this one's.

        Only for a likelihood with :meth:`observation_precision` (Gaussian)
        whose decoder output is the mean; None otherwise.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Rows, missing entries filled (:meth:`fill_missing`).
        observed : torch.Tensor of bool, shape (batch, n_features)
            Which entries are observed.
        z_loc : torch.Tensor of shape (batch, n_components)
            The encoder's means: the first linearization point.

        Returns
        -------
        (m, cholesky) or None
            The mean m, of shape (batch, n_components) in x's dtype, and the
            Cholesky factor L of the precision P = L L^T, shape (batch,
            n_components, n_components), float64.
        """
        precision = self.likelihood.observation_precision()
        if precision is None:
            return None
        n_rows, k = z_loc.shape
        step = torch.finfo(x.dtype).eps ** 0.5
        nudges = step * torch.eye(k, dtype=x.dtype, device=x.device)[:, None, :]
        weight = observed * precision.to(x.dtype)  # (batch, n_features)
        eye = torch.eye(k, dtype=torch.float64, device=x.device)
        z = z_loc
        for _ in range(LAPLACE_STEPS):
            points = torch.cat([z[None], z[None] + nudges])  # (1 + k, batch, k)
            out = self.decode(points.reshape((1 + k) * n_rows, k))
            if out.shape[-1] != x.shape[-1]:
                return None
            out = out.reshape(1 + k, n_rows, -1)
            jac = ((out[1:] - out[0]) / step).permute(1, 2, 0)  # (batch, p, k)
            target = (x - out[0]) * observed + (jac @ z[..., None])[..., 0]
            jac_w = (jac * weight[..., None]).transpose(1, 2)  # J^T W
            cholesky = torch.linalg.cholesky(eye + (jac_w @ jac).double())
            rhs = (jac_w @ target[..., None]).double()
            z = torch.cholesky_solve(rhs, cholesky)[..., 0].to(x.dtype)
        return z, cholesky


def _log_pz_over_qz(eps, z, z_logvar):
    """log N(z; 0, I) - log N(z; mu, sigma^2) for z = mu + sigma * eps: (S, batch)."""
    return 0.5 * (eps.pow(2) - z.pow(2) + z_logvar).sum(dim=-1)


def _defensive_draws(z_loc, z_logvar, lap_mean, lap_cholesky, eps):
    """Codes from a two-part proposal, and log p(z) - log q(z) under it.

    The first S - S // 2 draws ``z = mu + sigma * eps`` come from the
    encoder's q(z | x), the other S // 2 ``z = m + L^-T eps`` from the
    Laplace approximation N(m, (L L^T)^-1); every draw is weighted by the
    mixture of the two with those shares (a defensive mixture, Hesterberg
    1995; the balance heuristic of multiple importance sampling, Veach &
    Guibas 1995), so the estimate stays consistent if either part is poor.
    eps: (S, 1 or batch, k). Returns z (S, batch, k) and (S, batch).
    """
    n_draws = eps.shape[0]
    n_q = n_draws - n_draws // 2
    eps = eps.expand(n_draws, *z_loc.shape)
    root_t = lap_cholesky.transpose(-1, -2)  # L^T, upper triangular
    lap_draws = torch.linalg.solve_triangular(
        root_t.expand(n_draws - n_q, *root_t.shape),
        eps[n_q:, ..., None].double(),
        upper=True,
    )[..., 0]
    z = torch.cat(
        [
            z_loc + torch.exp(0.5 * z_logvar) * eps[:n_q],
            lap_mean + lap_draws.to(z_loc.dtype),
        ]
    )
    # log densities up to the k/2 log(2 pi) that log p(z) shares
    log_q = -0.5 * ((z - z_loc).pow(2) * torch.exp(-z_logvar) + z_logvar).sum(-1)
    u = (root_t.to(z.dtype) @ (z - lap_mean)[..., None])[..., 0]  # L^T (z - m)
    log_det = torch.log(torch.diagonal(lap_cholesky, dim1=-2, dim2=-1)).sum(-1)
    log_lap = -0.5 * u.pow(2).sum(-1) + log_det.to(z.dtype)
    shares = torch.tensor(
        [n_q / n_draws, 1 - n_q / n_draws], dtype=z.dtype, device=z.device
    )
    log_mix = torch.logsumexp(
        torch.stack([log_q, log_lap]) + torch.log(shares)[:, None, None], dim=0
    )
    return z, -0.5 * z.pow(2).sum(-1) - log_mix


# The conditional fill's factor analysis has up to this many factors per
# latent dimension (it models the inputs' covariance, not the code), and at
# most as many as keep n_features * factors^2 within FILL_MAX_COST (each
# training step solves a factors x factors system per row).
FILL_COMPONENTS_PER_LATENT = 2
FILL_MAX_COST = 2**20


def fill_components(n_features, n_components):
    """The number of factors of the encoder's conditional fill."""
    cap = int(math.isqrt(FILL_MAX_COST // max(n_features, 1)))
    return max(1, min(n_features, FILL_COMPONENTS_PER_LATENT * n_components, cap))


def _zero(*layers):
    """Start layers at 0 (weights and biases): a residual path that adds nothing."""
    with torch.no_grad():
        for layer in layers:
            layer.weight.zero_()
            layer.bias.zero_()


def _vector(values, size, default):
    if values is None:
        return torch.full((size,), default)
    return torch.as_tensor(values, dtype=torch.float32).reshape(size)
