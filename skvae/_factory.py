"""Network factory: the VAEModule an estimator's parameters and data call for.

Builds the default MLP encoder and decoder from the training data's
statistics, copies or instantiates user-supplied networks, and checks their
output shapes with a clear error. numpy in, torch modules out.
"""

import copy
import inspect
from numbers import Integral

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.sparsefuncs import mean_variance_axis

from skvae._modules import Decoder, Encoder, VAEModule
from skvae._runtime import as_tensor


def data_statistics(X):
    """Per-feature mean and variance of X (dense or sparse), float64.

    Returns
    -------
    x_mean, x_var, x_scale : ndarray of shape (n_features,)
        ``x_scale`` is the standard deviation, with constant or near-constant
        features given sqrt(1e-3) times the typical one, so standardization
        never divides by ~0 and a Gaussian decoder's variance starts small
        there (its floor is 1e-3 below that).
    """
    if sp.issparse(X):
        x_mean, x_var = mean_variance_axis(X, axis=0)
    else:
        x_mean = X.mean(axis=0, dtype=np.float64)
        x_var = X.var(axis=0, dtype=np.float64)
    typical = x_var.mean() if x_var.mean() > 0 else 1.0
    x_scale = np.sqrt(np.maximum(x_var, 1e-3 * typical))
    return x_mean, x_var, x_scale


def build_module(
    X,
    *,
    likelihood,
    n_components,
    hidden_layer_sizes,
    activation,
    encoder=None,
    encoder_kwargs=None,
    decoder=None,
    decoder_kwargs=None,
    seed=0,
):
    """The VAEModule for X, its weights drawn from torch's generator under ``seed``.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Training rows (their statistics place the networks; two rows run
        through custom networks to check their shapes).
    likelihood : skvae.likelihoods.Likelihood
        A fresh likelihood, initialized here.
    n_components, hidden_layer_sizes, activation
        The default networks' shape (the decoder mirrors the hidden layers).
    encoder, decoder : torch.nn.Module instance or class, default=None
        Custom networks (see VAETransformer); None builds the MLPs.
    encoder_kwargs, decoder_kwargs : dict, default=None
    seed : int

    Returns
    -------
    VAEModule

    Raises
    ------
    ValueError, TypeError
        When a custom network has the wrong output shapes or is not a module.
    """
    n_features = X.shape[1]
    x_mean, _, x_scale = data_statistics(X)
    out_loc, out_scale = likelihood.initialize(
        torch.as_tensor(x_mean), torch.as_tensor(x_scale**2)
    )
    n_outputs = likelihood.n_outputs(n_features)
    sizes = {"n_features": n_features, "n_components": n_components}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = make_network(
            encoder,
            encoder_kwargs,
            sizes,
            "encoder",
            lambda: Encoder(
                n_features,
                n_components,
                hidden_layer_sizes,
                activation,
                input_loc=x_mean,
                input_scale=x_scale,
            ),
        )
        decoder = make_network(
            decoder,
            decoder_kwargs,
            sizes,
            "decoder",
            lambda: Decoder(
                n_components,
                n_outputs,
                hidden_layer_sizes[::-1],
                activation,
                out_loc=out_loc,
                out_scale=out_scale,
            ),
        )
        check_network_shapes(encoder, decoder, X[:2], n_components, n_outputs)
    return VAEModule(encoder, decoder, likelihood)


def make_network(spec, kwargs, sizes, name, default):
    """Build the default network, copy a module instance, or instantiate a class."""
    if spec is None:
        return default()
    if isinstance(spec, torch.nn.Module):
        if kwargs:
            raise ValueError(
                f"{name}_kwargs only apply when {name} is a class, but {name} is "
                f"an instance of {type(spec).__name__}."
            )
        return copy.deepcopy(spec)
    try:
        params = inspect.signature(spec).parameters
    except (TypeError, ValueError):
        params = {}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    given = {k: v for k, v in sizes.items() if takes_any or k in params}
    network = spec(**given, **(kwargs or {}))
    if not isinstance(network, torch.nn.Module):
        raise TypeError(
            f"{name} must be a torch.nn.Module or a class building one; calling "
            f"it gave a {type(network).__name__}."
        )
    return network


def check_network_shapes(encoder, decoder, X_head, n_components, n_outputs):
    """Run two rows through the networks; ValueError naming any shape mismatch."""
    if sp.issparse(X_head):
        X_head = X_head.toarray()
    x = as_tensor(X_head, np.float32)
    # In eval mode, so that dropout draws nothing and batch norm keeps its
    # running statistics; each submodule's own mode is put back after.
    modes = [(m, m.training) for net in (encoder, decoder) for m in net.modules()]
    encoder.eval()
    decoder.eval()
    try:
        with torch.no_grad():
            codes = _checked_encoding(encoder, x, n_components)
            _check_decoding(decoder, codes, n_outputs)
    finally:
        for module, training in modes:
            module.training = training


def _shape_of(value):
    if isinstance(value, torch.Tensor):
        return tuple(value.shape)
    return type(value).__name__


def _checked_encoding(encoder, x, k):
    n = x.shape[0]
    try:
        encoded = encoder(x)
    except Exception as exc:
        raise ValueError(
            f"The encoder failed on a batch of shape {tuple(x.shape)}: {exc}"
        ) from exc
    if not (
        isinstance(encoded, (tuple, list))
        and len(encoded) == 2
        and all(isinstance(t, torch.Tensor) and t.shape == (n, k) for t in encoded)
    ):
        if isinstance(encoded, (tuple, list)):
            got = [_shape_of(t) for t in encoded]
        else:
            got = type(encoded).__name__
        raise ValueError(
            "The encoder must return (z_loc, z_logvar), each of shape (batch, "
            f"n_components) = ({n}, {k}); it returned {got}."
        )
    return encoded[0]


def _check_decoding(decoder, codes, width):
    n, k = codes.shape
    try:
        decoded = decoder(codes)
    except Exception as exc:
        raise ValueError(
            f"The decoder failed on codes of shape ({n}, {k}): {exc}"
        ) from exc
    if not isinstance(decoded, torch.Tensor) or decoded.shape != (n, width):
        raise ValueError(
            "The decoder must return one tensor of shape (batch, n_features) = "
            f"({n}, {width}); it returned {_shape_of(decoded)}."
        )


def hidden_layer_sizes(value):
    """``hidden_layer_sizes`` as a tuple of ints (an int is one layer), as MLP."""
    sizes = np.atleast_1d(value)
    if sizes.ndim != 1 or not all(isinstance(h, Integral) and h > 0 for h in sizes):
        raise ValueError(
            "hidden_layer_sizes must be a positive int or a sequence of "
            f"positive ints, got {value!r}."
        )
    return tuple(int(h) for h in sizes)


def architecture(vae):
    """The parameters of an estimator that fix its networks' shapes."""
    likelihood = vae.likelihood
    if not isinstance(likelihood, str):
        likelihood = repr(likelihood)
    return {
        "n_components": vae.n_components,
        "likelihood": likelihood,
        "hidden_layer_sizes": hidden_layer_sizes(vae.hidden_layer_sizes),
        "activation": vae.activation,
    }


def check_architecture_unchanged(vae, method):
    """ValueError if set_params changed the networks' shape since they were built."""
    changed = [
        f"{name} from {before!r} to {now!r}"
        for (name, before), now in zip(
            vae._built_architecture.items(), architecture(vae).values()
        )
        if before != now
    ]
    if changed:
        how = "partial_fit" if method == "partial_fit" else "fit with warm_start=True"
        raise ValueError(
            f"{how} continues training the fitted networks, but "
            f"{', '.join(changed)} since they were built. Fit anew (warm_start="
            "False) to change the architecture."
        )
