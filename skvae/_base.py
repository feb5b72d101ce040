"""BaseVAE: the machinery under skvae's estimators.

Training orchestration (validate, build or reuse the net, train, undo a failed
fit, record the fitted attributes) and the batching and conversion of
inference; the public faces (``VAETransformer``) hold the parameters and the
documented methods. Imports point down: the network factory, the training
net (``_net``), the runtime helpers and sklearn's validation.
"""

import copy
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array

from skvae._factory import (
    architecture,
    build_module,
    check_architecture_unchanged,
    data_statistics,
    hidden_layer_sizes,
)
from skvae._net import DivergenceError, TrainingPlan, VAENet
from skvae._noise import RowNoise
from skvae._runtime import map_rows, resolve_device, torch_dtype
from skvae._validation import (
    FLOAT_DTYPES,
    SPARSE_FORMATS,
    check_random_state,
    check_support,
    clip_to_support,
    draw_seed,
    validate_data,
)
from skvae.likelihoods import make_likelihood

# Noise draws per row of score_samples and of the held-out score.
N_ELBO_SAMPLES = 16


class BaseVAE(BaseEstimator):
    """Fitting and inference machinery of a VAE estimator (not public)."""

    def _fit(self, X, *, epochs, fresh, method):
        """Validate, build or reuse the net, train; on any error, undo everything."""
        before = dict(vars(self))
        if "_rng" in before:
            before["_rng"] = copy.deepcopy(self._rng)
        try:
            X = self._validate_input(X, reset=fresh)
            self._check_training_data(X, method)
            if fresh:
                net = self._fresh_net(X)
            else:
                check_architecture_unchanged(self, method)
                net = self.net_
            plan = self._plan(
                epochs, early_stopping=self.early_stopping and method == "fit"
            )
            outcome = net.run(X, plan, seed=self._rng.randint(2**31 - 1))
        except BaseException as exc:  # Ctrl-C outside the training loop too
            vars(self).clear()
            vars(self).update(before)
            if isinstance(exc, DivergenceError):
                raise ValueError(
                    f"Training diverged: {exc}. Try a smaller learning_rate (now "
                    f"{self.learning_rate}), standardizing X (e.g. StandardScaler), "
                    "or a larger batch_size."
                ) from None
            raise
        self.net_ = net
        self._n_features_out = self.n_components
        self.n_iter_ = len(net.history)
        self.loss_curve_ = net.epoch_values("train_loss")
        if plan.early_stopping:
            self.validation_scores_ = net.epoch_values(outcome.validation_key)
            self.best_validation_score_ = outcome.best_validation_score
        elif fresh:
            self.validation_scores_ = None
            self.best_validation_score_ = None
        if method == "fit" and not outcome.stopped and outcome.epochs >= epochs:
            warnings.warn(
                f"VAETransformer trained max_iter={self.max_iter} epochs and the "
                f"{'held-out ELBO' if self.early_stopping else 'training loss'} "
                f"was still improving by more than tol={self.tol}. Increase "
                "max_iter"
                f"{'' if self.early_stopping else ', or set early_stopping=True'}.",
                ConvergenceWarning,
            )
        return self

    def _check_training_data(self, X, method):
        """ValueError for values outside the likelihood's support; warn when the
        likelihood accepts the data but models it poorly."""
        likelihood = make_likelihood(self.likelihood)
        check_support(X, likelihood, name=self.likelihood, method=method)
        if self.n_importance_samples > 1 and self.free_bits:
            raise ValueError(
                "free_bits applies to the ELBO, not to the importance-weighted "
                f"bound of n_importance_samples={self.n_importance_samples}: set "
                "one of them to its default."
            )
        head = X[:1000]  # enough to tell the data's kind
        head = head.toarray() if sp.issparse(head) else np.array(head)
        message = likelihood.data_warning(torch.from_numpy(head))
        if message:
            warnings.warn(message, UserWarning)

    def _plan(self, epochs, *, early_stopping):
        """The training settings of one run, from the parameters."""
        return TrainingPlan(
            epochs=epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            beta=self.beta,
            kl_warmup=self.kl_warmup,
            free_bits=self.free_bits,
            early_stopping=early_stopping,
            validation_fraction=self.validation_fraction,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
            verbose=self.verbose,
            n_importance_samples=self.n_importance_samples,
            noise=self._row_noise(N_ELBO_SAMPLES),
            offset=self._x_offset,
        )

    def _fresh_net(self, X):
        """Seed this fit's generator, take the data's statistics, build a new net.

        Draws, in order: the scoring noise's seed, the networks' seed; the
        training seed is the generator's next draw.
        """
        self._rng = check_random_state(draw_seed(self.random_state))
        self._noise_seed = int(self._rng.randint(2**62))
        stats = data_statistics(X)
        self._x_mean, self._x_scale = stats.mean, stats.scale
        self._has_missing = stats.has_missing
        location = make_likelihood(self.likelihood).location_family
        self._x_offset = stats.mean if location else None
        return self._new_net(X, stats, seed=self._rng.randint(2**31 - 1))

    def _new_net(self, X, stats, seed):
        """An untrained net around the networks for data of ``stats``."""
        X_head = X[:2]
        if self._x_offset is not None:
            X_head = (X_head.toarray() if sp.issparse(X_head) else X_head) - (
                self._x_offset
            )
        module = build_module(
            X_head,
            stats,
            likelihood=make_likelihood(self.likelihood),
            n_components=self.n_components,
            hidden_layer_sizes=self._hidden_layer_sizes(),
            activation=self.activation,
            offset=self._x_offset,
            encoder=self.encoder,
            encoder_kwargs=self.encoder_kwargs,
            decoder=self.decoder,
            decoder_kwargs=self.decoder_kwargs,
            seed=seed,
        )
        self._built_architecture = architecture(self)
        return VAENet(module, device=resolve_device(self.device))

    def _row_noise(self, n_samples, seed=None):
        """Each row's own fixed noise draws (``skvae._noise``), S = ``n_samples``."""
        seed = self._noise_seed if seed is None else seed
        return RowNoise(n_samples, self.n_components, seed, self._x_mean, self._x_scale)

    def _impute(self, X, n_samples, seed, *, draw=False):
        """Dense rows X (data units, NaN: missing) with their NaN entries filled.

        The model's :meth:`~skvae.VAEModule.impute` (conditional means) or,
        with ``draw``, :meth:`~skvae.VAEModule.sample_imputation` (one draw),
        on S = ``n_samples`` proposals per row; each row's noise (and the seed
        of its draw) derives from its values and ``seed``, so a row's result
        does not depend on the other rows. Returned in X's dtype and in data
        units: the observed entries went through the model's centring and back,
        so they may differ from X's in the last bit.
        """
        module = self._inference_module(X.dtype)
        noise = self._row_noise(n_samples, seed=seed)
        draw_keys = self._row_noise(1, seed=seed ^ 0x5EED).keys

        def fill(x, rows):
            eps = torch.as_tensor(noise(rows), dtype=x.dtype, device=x.device)
            if not draw:
                return module.impute(x, eps)
            seeds = torch.from_numpy((draw_keys(rows) >> np.uint64(1)).astype(np.int64))
            return module.sample_imputation(x, eps, seeds)

        width = n_samples * (self.n_features_in_ + self.n_components)
        return self._uncentred(self._map_rows(X, fill, width), X.dtype)

    def _hidden_layer_sizes(self):
        return hidden_layer_sizes(self.hidden_layer_sizes)

    def _validate_input(self, X, *, reset):
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=FLOAT_DTYPES,
            accept_sparse=SPARSE_FORMATS,
            ensure_all_finite="allow-nan",
        )
        return X.tocsr() if sp.issparse(X) else X

    # -------------------------------------------------------------- helpers

    def _validate_scored(self, X):
        X = self._validate_input(X, reset=False)
        likelihood = self.net_.module_.likelihood
        X, n_clipped = clip_to_support(X, likelihood)
        if n_clipped:
            warnings.warn(
                f"{n_clipped} values of X lie outside {likelihood.support}, where "
                f"the {type(likelihood).__name__} likelihood is defined; they "
                "were clipped into it for scoring.",
                UserWarning,
            )
        return X

    def _validate_codes(self, Z):
        Z = check_array(Z, dtype=FLOAT_DTYPES, input_name="Z")
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"Z has {Z.shape[1]} columns, but this VAETransformer has "
                f"n_components={self.n_components} latent dimensions."
            )
        return Z

    def _inference_module(self, dtype):
        """The trained module in eval mode, in ``dtype`` (a cached copy if needed)."""
        return self.net_.module_for_inference(torch_dtype(dtype))

    def _map_rows(self, X, fn, width, *, centred=True):
        """:func:`~skvae._runtime.map_rows` on this model's device.

        ``centred``: the rows of X are data (centred by the offset for the
        model); False for latent codes.
        """
        offset = self._x_offset if centred else None
        return map_rows(X, fn, width, device=self.net_.device, offset=offset)

    def _uncentred(self, X_model, dtype):
        """Rows in the model's units back in data units, in ``dtype``."""
        if self._x_offset is None:
            return X_model.astype(dtype, copy=False)
        return (X_model.astype(np.float64) + self._x_offset).astype(dtype)
