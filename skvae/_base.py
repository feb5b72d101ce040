"""BaseVAE: the machinery under skvae's estimators.

Training orchestration (validate, build or reuse the net, train, undo a failed
fit, record the fitted attributes) and the batching and conversion of
inference; the public faces (``VAETransformer``) hold the parameters and the
documented methods. Imports point down: the network factory, the training
net (``_net``), the runtime helpers and sklearn's validation.
"""

import copy
import warnings

import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array

from skvae._factory import (
    architecture,
    build_module,
    check_architecture_unchanged,
    hidden_layer_sizes,
)
from skvae._net import DivergenceError, TrainingPlan, VAENet
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

# Number of eps vectors, drawn once at fit, shared by every row of score_samples.
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
            check_support(
                X, make_likelihood(self.likelihood), name=self.likelihood, method=method
            )
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
            self.validation_scores_ = net.epoch_values("valid_elbo")
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
        )

    def _fresh_net(self, X):
        """Seed this fit's generator, draw the scoring noise, build a new net.

        The training seed is the generator's next draw.
        """
        self._rng = check_random_state(draw_seed(self.random_state))
        self._elbo_eps = self._rng.standard_normal((N_ELBO_SAMPLES, self.n_components))
        return self._new_net(X, seed=self._rng.randint(2**31 - 1))

    def _new_net(self, X, seed):
        """An untrained net around the networks for X (see ``_factory``)."""
        module = build_module(
            X,
            likelihood=make_likelihood(self.likelihood),
            n_components=self.n_components,
            hidden_layer_sizes=self._hidden_layer_sizes(),
            activation=self.activation,
            encoder=self.encoder,
            encoder_kwargs=self.encoder_kwargs,
            decoder=self.decoder,
            decoder_kwargs=self.decoder_kwargs,
            seed=seed,
        )
        self._built_architecture = architecture(self)
        return VAENet(module, device=resolve_device(self.device))

    def _hidden_layer_sizes(self):
        return hidden_layer_sizes(self.hidden_layer_sizes)

    def _validate_input(self, X, *, reset):
        X = validate_data(
            self, X, reset=reset, dtype=FLOAT_DTYPES, accept_sparse=SPARSE_FORMATS
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

    def _map_rows(self, X, fn, width):
        """:func:`~skvae._runtime.map_rows` on this model's device."""
        return map_rows(X, fn, width, device=self.net_.device)
