"""The weights-only file format of ``VAETransformer.save_weights``, versioned.

A file holds tensors and plain values only (written with :func:`torch.save`,
read with ``torch.load(weights_only=True)``, which runs no code): the
constructor parameters, the fitted attributes, the per-epoch history, the
network's ``state_dict`` and the scoring noise. Custom networks and likelihood
instances are code: they are not stored, and must be passed again at load.

Format versions:

- 1 (skvae 0.1): tagged ``"format": "skvae.weights/1"``; read with its
  buffers renamed (the encoder's ``x_loc``/``x_scale`` became
  ``input_loc``/``input_scale``).
- 2 (skvae 0.2): tagged ``"format": "skvae.weights"`` and ``"version": 2``;
  adds the data statistics the model was built on, the scoring noise's seed
  and the missing-value buffers.
"""

import hashlib
import warnings
from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from skvae._factory import DataStatistics
from skvae._tabular import TableEncoder, joined_likelihood
from skvae.likelihoods import LIKELIHOODS, Likelihood, make_likelihood

FORMAT = "skvae.weights"
VERSION = 2
FORMAT_V1 = "skvae.weights/1"
RENAMED_V1 = {
    "encoder.x_loc": "encoder.input_loc",
    "encoder.x_scale": "encoder.input_scale",
}


class WeightsFileMixin:
    """``save_weights`` and ``load_weights``: the weights-only file format."""

    def save_weights(self, path):
        """Save the fitted model as tensors and plain values: no pickled code.

        The file holds the constructor parameters, the fitted attributes and
        the network's ``state_dict`` (on the CPU), written with
        :func:`torch.save` in a versioned format. :meth:`load_weights` reads
        it back with ``torch.load(weights_only=True)``, which refuses anything
        but tensors and plain containers, so a file from an untrusted source
        cannot run code (a pickle, and so ``joblib.load``, can). Custom
        ``encoder`` or ``decoder`` networks and likelihood instances are code:
        they are not saved, and must be passed again to :meth:`load_weights`.
        Adam's moment estimates and the per-batch history are not saved
        either: a warm start after loading starts a fresh optimizer.

        Parameters
        ----------
        path : str or path-like or file-like
            Where to write; the usual suffix is ``.pt``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        check_is_fitted(self)
        save(self, path)

    @classmethod
    def load_weights(cls, path, **params):
        """Rebuild a fitted VAETransformer from :meth:`save_weights`' file.

        Reads with ``torch.load(weights_only=True)`` onto the CPU: only
        tensors and plain values are accepted, no code runs. The result gives
        the same ``transform``, ``score_samples`` and ``sample`` as the saved
        model. Files of every earlier format version load (skvae 0.1's too).

        Parameters
        ----------
        path : str or path-like or file-like
            A file written by :meth:`save_weights`.

        **params : dict
            Constructor parameters that replace the saved ones: the
            ``encoder`` and ``decoder`` (and their ``_kwargs``) or
            ``likelihood`` instance of a model fitted with custom ones, which
            must be given again, or ``device``. A model saved with
            ``device='cuda'`` loads with ``device='cpu'`` where torch sees no
            GPU, with a warning.

        Returns
        -------
        vae : VAETransformer
            The fitted estimator.

        Raises
        ------
        ValueError
            If the file is not a skvae weights file or is of a newer format,
            or a custom network or likelihood the model was fitted with is
            not given again.
        """
        return load(cls, path, **params)


def save(vae, path):
    """Write a fitted VAETransformer's weights and state to ``path``."""
    from skvae import __version__

    params = vae.get_params(deep=False)
    custom = [
        name
        for name in ("encoder", "decoder")
        if params[name] is not None and not isinstance(params[name], str)
    ]
    if any(name not in LIKELIHOODS for name, _ in vae._likelihood_blocks):
        custom.append("likelihood")  # a Likelihood instance: code
    elif not _is_plain(params["likelihood"]):  # e.g. make_column_selector
        params["likelihood"] = [
            (name, [[vae._model_feature_names[c] for c in cols]])
            for name, cols in vae._likelihood_blocks
        ]
    for name in custom:
        params[name] = None
        if f"{name}_kwargs" in params:
            params[f"{name}_kwargs"] = None
    widths = list(vae._hidden_layer_sizes())
    if not isinstance(params["hidden_layer_sizes"], str):
        params["hidden_layer_sizes"] = widths
    if not isinstance(params["random_state"], (Integral, type(None))):
        params["random_state"] = None  # a RandomState instance is not data
    names = getattr(vae, "feature_names_in_", None)
    _, keys, pos, has_gauss, cached = vae._rng.get_state()
    state = {
        "format": FORMAT,
        "version": VERSION,
        "skvae_version": __version__,
        "params": params,
        "custom": custom,
        "n_features_in": int(vae.n_features_in_),
        "feature_names_in": None if names is None else [str(n) for n in names],
        "fitted": {
            "n_iter": int(vae.n_iter_),
            "loss_curve": [float(v) for v in vae.loss_curve_],
            "validation_scores": _floats(vae.validation_scores_),
            "best_validation_score": (
                None
                if vae.best_validation_score_ is None
                else float(vae.best_validation_score_)
            ),
        },
        "history": vae.net_.history_rows(),
        "data": {
            "noise_seed": int(vae._noise_seed),
            "mean": torch.as_tensor(vae._x_mean),
            "scale": torch.as_tensor(vae._x_scale),
            "offset": None if vae._x_offset is None else torch.as_tensor(vae._x_offset),
            "has_missing": bool(vae._has_missing),
            "linear_path": bool(vae._linear_path),
            "table": None if vae._table is None else vae._table.state(),
            "blocks": [[name, list(cols)] for name, cols in vae._likelihood_blocks],
            "model_feature_names": list(vae._model_feature_names),
            # hidden_layer_sizes='auto' resolves by the rows of the fit.
            "n_fit_rows": int(getattr(vae, "_n_fit_rows", 0)),
            "hidden_widths": widths,
        },
        "rng_state": [
            torch.as_tensor(keys.astype(np.int64)),
            int(pos),
            int(has_gauss),
            float(cached),
        ],
        "module_state": {
            k: v.detach().cpu() for k, v in vae.net_.module_.state_dict().items()
        },
    }
    torch.save(state, path)


def load(cls, path, **params):
    """Rebuild a fitted ``cls`` (VAETransformer) from a file of :func:`save`."""
    state = read(path)
    missing = [n for n in state["custom"] if params.get(n) is None]
    if missing:
        raise ValueError(
            f"This model was fitted with a custom {' and '.join(missing)}, "
            "which save_weights does not store (it is code): pass the same "
            f"network or likelihood again, e.g. load_weights(path, {missing[0]}=...)."
        )
    saved = dict(state["params"])
    data = state["data"]
    if not isinstance(saved["hidden_layer_sizes"], str):
        saved["hidden_layer_sizes"] = tuple(saved["hidden_layer_sizes"])
    if (
        "device" not in params
        and "cuda" in str(saved["device"])
        and not torch.cuda.is_available()
    ):
        warnings.warn(
            f"The model was saved with device={saved['device']!r}, but torch "
            "sees no CUDA GPU here: loading it with device='cpu'.",
            UserWarning,
        )
        saved["device"] = "cpu"
    vae = cls(**{**saved, **params})
    vae._validate_params()
    n_features = state["n_features_in"]
    if isinstance(vae.hidden_layer_sizes, str):  # 'auto'
        # the widths the file's weights have (files before 0.2: in params)
        widths = list(data.get("hidden_widths", state["params"]["hidden_layer_sizes"]))
        vae._n_fit_rows = data.get("n_fit_rows", 0)
        if list(vae._hidden_layer_sizes()) != widths:
            # 'auto' of another skvae version: the file's widths build the
            # net, and get_params still says 'auto', as the file's params do
            vae._auto_widths = tuple(widths)
    vae._noise_seed = data["noise_seed"]
    vae._x_mean, vae._x_scale = data["mean"].numpy(), data["scale"].numpy()
    vae._x_offset = None if data["offset"] is None else data["offset"].numpy()
    vae._has_missing = data["has_missing"]
    vae._linear_path = data["linear_path"]
    vae._table = (
        None if data["table"] is None else TableEncoder.from_state(data["table"])
    )
    width = len(vae._x_mean)
    vae._likelihood_blocks = [
        (name, list(cols)) for name, cols in data["blocks"] or [(None, range(width))]
    ]
    vae._model_feature_names = data["model_feature_names"]
    likelihood = _likelihood(vae)
    # The networks' shapes; their data statistics are buffers, overwritten below.
    stats = DataStatistics(vae._x_mean, vae._x_scale**2, vae._x_scale, vae._has_missing)
    X_head = np.zeros((2, width), dtype=np.float32)
    net = vae._new_net(X_head, stats, likelihood, seed=0)
    net.initialize()
    net.module_.load_state_dict(state["module_state"])
    net.load_history(state["history"])  # per epoch: warm starts keep counting
    vae.net_ = net
    vae.n_features_in_ = n_features
    if state["feature_names_in"] is not None:
        vae.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
    vae._n_features_out = vae.n_components
    for name, value in state["fitted"].items():
        setattr(vae, f"{name}_", value)
    vae._rng = _restore_rng(state["rng_state"])
    return vae


def _likelihood(vae):
    """The fitted model's likelihood, rebuilt from its blocks' names.

    A block named by a class rather than a registered name came from a
    Likelihood instance in ``vae.likelihood`` (given again at load).
    """
    spec = vae.likelihood
    given = [spec] if isinstance(spec, Likelihood) else []
    if isinstance(spec, list):
        given = [lik for lik, _ in spec if isinstance(lik, Likelihood)]
    by_class = {type(lik).__name__: lik for lik in given}
    blocks = []
    for name, cols in vae._likelihood_blocks:
        if name is None:  # a weights file of skvae 0.1: one likelihood
            name = spec if isinstance(spec, str) else type(spec).__name__
        if name not in LIKELIHOODS and name not in by_class:
            raise ValueError(
                f"This model has a custom likelihood {name!r}: pass an instance "
                "of it again, e.g. load_weights(path, likelihood=...)."
            )
        # (the floors are buffers: the file's values replace these)
        lik = make_likelihood(by_class.get(name, name), vae.near_constant_ratio)
        blocks.append((name, lik, cols))
    return joined_likelihood(blocks)


def _is_plain(spec):
    """True if a ``likelihood`` parameter is plain data (names and columns)."""
    if isinstance(spec, str):
        return True
    if not isinstance(spec, list):
        return False

    def plain(value):
        if isinstance(value, (str, Integral, bool, np.bool_)):
            return True
        return isinstance(value, (list, tuple)) and all(plain(v) for v in value)

    return all(isinstance(lik, str) and plain(cols) for lik, cols in spec)


def read(path):
    """The state in a weights file, any version, in the current version's layout.

    Raises
    ------
    ValueError
        If the file is not a skvae weights file, or of a newer version.
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    tag = state.get("format") if isinstance(state, dict) else None
    if tag == FORMAT_V1:
        return _upgrade_v1(state)
    if tag != FORMAT:
        raise ValueError(
            f"{path!r} is not a file written by VAETransformer.save_weights "
            f"(expected format {FORMAT!r})."
        )
    if state["version"] > VERSION:
        raise ValueError(
            f"{path!r} was written in weights format {state['version']} by skvae "
            f"{state.get('skvae_version')}; this skvae reads versions up to "
            f"{VERSION}: upgrade skvae."
        )
    return state


def _upgrade_v1(state):
    state = dict(state)
    state["custom"] = state.pop("custom_networks")
    state["fitted"] = {
        "n_iter": state.pop("n_iter"),
        "loss_curve": state.pop("loss_curve"),
        "validation_scores": state.pop("validation_scores"),
        "best_validation_score": state.pop("best_validation_score"),
    }
    module_state = {RENAMED_V1.get(k, k): v for k, v in state["module_state"].items()}
    n_features = state["n_features_in"]
    mean = module_state.get("encoder.input_loc", torch.zeros(n_features))
    scale = module_state.get("encoder.input_scale", torch.ones(n_features))
    module_state["fill_value"] = mean.clone()
    state["module_state"] = module_state
    # 0.1 scored with 16 noise vectors shared by all rows; 0.2 derives each
    # row's from a seed, here taken from those vectors' bytes.
    eps = state.pop("elbo_eps").numpy().tobytes()
    digest = hashlib.sha256(eps).digest()
    state["data"] = {
        "noise_seed": int.from_bytes(digest[:8], "little") % 2**62,
        "mean": mean.to(torch.float64),
        "scale": scale.to(torch.float64),
        "offset": None,
        "has_missing": False,
        "linear_path": False,
        "table": None,
        "blocks": None,
        "model_feature_names": None,
    }
    state["version"] = 1
    return state


def _restore_rng(rng_state):
    """The numpy RandomState saved by :func:`save`."""
    keys, pos, has_gauss, cached = rng_state
    rng = np.random.RandomState()
    rng.set_state(("MT19937", keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    return rng


def _floats(values):
    return None if values is None else [float(v) for v in values]
