"""Torch networks of the VAE: MLP encoder, MLP decoder and the module joining them.

Kingma & Welling, *Auto-Encoding Variational Bayes* (2013, arXiv:1312.6114),
appendix C. Torch only: nothing here sees numpy or validates user input.
"""

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
}


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
    standardized with fixed per-feature ``x_loc`` and ``x_scale`` (training
    statistics), so the network sees features of unit scale whatever the data
    units. Its weights and biases are phi.

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
    x_loc, x_scale : array-like of shape (n_features,), default=None
        Standardization of the input (None: 0 and 1).
    """

    def __init__(
        self,
        n_features,
        n_components,
        hidden_layer_sizes=(256, 256),
        activation="relu",
        x_loc=None,
        x_scale=None,
    ):
        super().__init__()
        hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.body = make_hidden(n_features, hidden_layer_sizes, activation)
        width = hidden_layer_sizes[-1] if hidden_layer_sizes else n_features
        self.z_loc_layer = nn.Linear(width, n_components)
        self.z_logvar_layer = nn.Linear(width, n_components)
        self.register_buffer("x_loc", _vector(x_loc, n_features, 0.0))
        self.register_buffer("x_scale", _vector(x_scale, n_features, 1.0))

    def forward(self, x):
        """Map x, shape (batch, n_features), to ``(z_loc, z_logvar)``.

        Each is of shape (batch, n_components); ``z_logvar`` is log sigma^2.
        """
        h = self.body((x - self.x_loc) / self.x_scale)
        return self.z_loc_layer(h), self.z_logvar_layer(h)


class Decoder(nn.Module):
    """MLP decoder: z -> the likelihood's location parameter (mean or logits).

    AEVB appendix C: ``out = W5 act(W4 z + b4) + b5`` (hidden layers as given),
    then a fixed per-feature affine map ``out_loc + out_scale * out`` that puts
    the output in data units from the start of training (training mean and
    standard deviation for a Gaussian decoder; the logit of the training mean
    for a Bernoulli one). Its weights and biases are theta.

    Parameters
    ----------
    n_components : int
        Width of z.
    n_features : int
        Width of x.
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


class VAEModule(nn.Module):
    """Encoder, reparameterized sample and decoder (AEVB section 2.4).

    Parameters
    ----------
    encoder : nn.Module
        Maps x of shape (batch, n_features) to ``(z_loc, z_logvar)``, each of
        shape (batch, n_components).
    decoder : nn.Module
        Maps z of shape (batch, n_components) to the likelihood's location
        parameter, shape (batch, n_features).
    likelihood : GaussianHead or BernoulliHead
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
        against ``z_loc``: shape (S, 1, n_components) gives S draws per row.
        """
        if eps is None:
            eps = torch.randn_like(z_loc)
        return z_loc + torch.exp(0.5 * z_logvar) * eps

    def decode(self, z):
        """The likelihood's location parameter for codes z (mean or logits)."""
        return self.decoder(z)

    def forward(self, x):
        """``(decoder_out, z_loc, z_logvar)`` for one reparameterized z per row."""
        z_loc, z_logvar = self.encode(x)
        z = self.reparameterize(z_loc, z_logvar)
        return self.decode(z), z_loc, z_logvar


def _vector(values, size, default):
    if values is None:
        return torch.full((size,), default)
    return torch.as_tensor(values, dtype=torch.float32).reshape(size)
