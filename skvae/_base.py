"""BaseVAE: the machinery under skvae's estimators.

Training orchestration (validate, build or reuse the net, train, undo a failed
fit, record the fitted attributes) and the batching and conversion of
inference; the public faces (``VAETransformer``) hold the parameters and the
documented methods. Imports point down: the network factory, the training
net (``_net``), the runtime helpers and sklearn's validation.
"""

import copy
import dataclasses
import math
import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from torch.distributions import constraints

from skvae._factory import (
    architecture,
    build_module,
    check_architecture_unchanged,
    data_statistics,
    hidden_layer_sizes,
)
from skvae._modules import ACTIVATIONS
from skvae._net import DivergenceError, TrainingPlan, VAENet, validation_split
from skvae._noise import RowNoise
from skvae._runtime import (
    limited_torch_threads,
    map_rows,
    resolve_device,
    torch_dtype,
)
from skvae._tabular import (
    DEFAULT_LIKELIHOOD,
    TableEncoder,
    _is_integer_dtype_name,
    joined_likelihood,
    likelihood_blocks,
    table_library,
)
from skvae._validation import (
    FLOAT_DTYPES,
    SPARSE_FORMATS,
    Interval,
    StrOptions,
    check_random_state,
    check_support,
    clip_to_support,
    describe_support,
    draw_seed,
    output_container,
    validate_data,
)
from skvae.likelihoods import LIKELIHOODS, Likelihood

# Noise draws per row of score_samples (and at most, of the held-out score).
N_ELBO_SAMPLES = 16
# early_stopping='auto' holds rows out when at least this many would be, and
# then refits on every row when there are at most REFIT_MAX_ROWS of them.
MIN_VALIDATION_ROWS = 10
REFIT_MAX_ROWS = 5000
# validation_fraction='auto': the share of the rows held out, and (twice that)
# when the fit then refits on all of them, which costs no training rows: a
# stopping point chosen on twice the held-out rows moves less with the seed
# (benchmarks/RESULTS_speed.md: the seed-to-seed sd of a GridSearchCV
# candidate's score on wine and diabetes, at most 0.16 nats at 0.1, 0.10 at 0.2).
AUTO_VALIDATION_FRACTION, REFIT_VALIDATION_FRACTION = 0.1, 0.2
# A training iteration: one epoch (a pass over the training rows), or, on data
# of fewer mini-batches, as many epochs as make at least ITER_MIN_STEPS Adam
# steps: the held-out score, the stopping rules and the step size's schedule
# act once an iteration, so their cost does not swamp tiny tables' steps.
ITER_MIN_STEPS = 16
# max_iter='auto' and n_iter_no_change='auto', in iterations.
AUTO_MAX_ITER, AUTO_PATIENCE = 200, 3
# Noise draws per held-out score: about this many a score, 1 to 16 a row.
VALIDATION_DRAWS = 2048
# sample(given=...): the prior's share of the proposals (defensive mixture),
# the proposals per row drawn (at least CONDITIONAL_MIN_PROPOSALS), and the
# effective sample size below which the rows share too few codes (a warning).
CONDITIONAL_PRIOR_FRACTION = 0.5
CONDITIONAL_PROPOSALS_PER_ROW, CONDITIONAL_MIN_PROPOSALS = 20, 10_000
CONDITIONAL_MIN_ESS = 100
# hidden_layer_sizes='auto': narrower networks below AUTO_HIDDEN_ROWS rows.
AUTO_HIDDEN_ROWS, AUTO_HIDDEN_SMALL, AUTO_HIDDEN = 1000, (64, 64), (256, 256)


# The parameters of VAETransformer, and of the faces that mirror them.
VAE_PARAMETER_CONSTRAINTS = {
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "beta": [Interval(Real, 0, None, closed="left")],
    "likelihood": [StrOptions(set(LIKELIHOODS)), Likelihood, list],
    "near_constant_ratio": [None, Interval(Real, 1e-3, 1, closed="left")],
    "categorical_features": [StrOptions({"from_dtype"}), None, "array-like"],
    "hidden_layer_sizes": [
        StrOptions({"auto"}),
        "array-like",
        Interval(Integral, 1, None, closed="left"),
    ],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "max_iter": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "early_stopping": [StrOptions({"auto"}), "boolean"],
    "validation_fraction": [
        StrOptions({"auto"}),
        Interval(Real, 0, 1, closed="neither"),
    ],
    "n_iter_no_change": [
        StrOptions({"auto"}),
        Interval(Integral, 1, None, closed="left"),
    ],
    "tol": [Interval(Real, 0, None, closed="left")],
    "kl_warmup": [Interval(Integral, 0, None, closed="left")],
    "free_bits": [Interval(Real, 0, None, closed="left")],
    "n_importance_samples": [Interval(Integral, 1, None, closed="left")],
    "warm_start": ["boolean"],
    "encoder": [None, callable],
    "encoder_kwargs": [None, dict],
    "decoder": [None, callable],
    "decoder_kwargs": [None, dict],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "device": [str],
}


class BaseVAE(BaseEstimator):
    """Fitting and inference machinery of a VAE estimator (not public)."""

    def _fit(self, X, *, fresh, method):
        """Validate, build or reuse the net, train; on any error, undo everything."""
        before = dict(vars(self))
        if "_rng" in before:
            before["_rng"] = copy.deepcopy(self._rng)
        try:
            X_raw = X
            X = self._validate_input(X, reset=fresh)
            likelihood = self._resolve_likelihood(X_raw, X.shape[1])
            self._check_training_data(X, likelihood, method)
            unseen = None
            if fresh:
                net, seed, unseen = self._fresh_net(X, likelihood, method)
            else:
                check_architecture_unchanged(self, method)
                net, seed = self.net_, self._rng.randint(2**31 - 1)
            plan = self._plan(X.shape[0], method, fresh=fresh)
            outcome = net.run(X, plan, seed=seed)
            selection = (plan, outcome, net)
            if fresh and self._refits(X.shape[0], method):
                net, outcome = self._refit(X, likelihood, plan, outcome, net)
                unseen = None
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
        # Rows of X the fitted model never trained on (early stopping's
        # held-out rows, when no refit followed), for scores of unseen rows
        # (VAEOutlierDetector's threshold); None otherwise. Set before
        # _record_fit, whose ConvergenceWarning may be raised as an error.
        self._unseen_rows = unseen
        self._record_fit(net, fresh, method, *selection)
        return self

    def _record_fit(self, net, fresh, method, plan, outcome, selection_net):
        """The fitted attributes, and the ConvergenceWarning of a fit that ran
        out of epochs (the selection run's, when the model was refitted)."""
        self.net_ = net
        self._n_features_out = self.n_components
        # The run early stopping watched (not the refit's): its epochs,
        # losses and held-out scores.
        self.n_iter_ = len(selection_net.history)
        self.loss_curve_ = selection_net.epoch_values("train_loss")
        if plan.early_stopping:
            self.validation_scores_ = selection_net.epoch_values(outcome.validation_key)
            self.best_validation_score_ = outcome.best_validation_score
        elif fresh:
            self.validation_scores_ = None
            self.best_validation_score_ = None
        if method == "fit" and not outcome.stopped and outcome.epochs >= plan.epochs:
            early = plan.early_stopping
            warnings.warn(
                f"VAETransformer trained max_iter={plan.epochs} epochs and the "
                f"{'held-out ELBO' if early else 'training loss'} "
                f"was still improving by more than tol={self.tol}. Increase "
                f"max_iter{'' if early else ', or set early_stopping=True'}.",
                ConvergenceWarning,
            )

    def _early_stopping(self, n_rows, method):
        """Whether this run holds rows out (``early_stopping='auto'``: when at
        least ``MIN_VALIDATION_ROWS`` of them would be held out, at
        ``AUTO_VALIDATION_FRACTION`` for ``validation_fraction='auto'``)."""
        if method != "fit" or self.early_stopping is False:
            return False
        if self.early_stopping == "auto":
            return self._n_validation_rows(n_rows) >= MIN_VALIDATION_ROWS
        return True

    def _validation_fraction(self, refit=False):
        """``validation_fraction``, with ``'auto'`` resolved: twice the share
        when the run is followed by a refit on all the rows (``refit``: a
        fresh fit for which :meth:`_refits`; a warm start continues the model
        it has, without one)."""
        if self.validation_fraction != "auto":
            return self.validation_fraction
        return REFIT_VALIDATION_FRACTION if refit else AUTO_VALIDATION_FRACTION

    def _n_validation_rows(self, n_rows, refit=False):
        """Rows a split holds out (``train_test_split``'s ceil of the fraction)."""
        return int(np.ceil(self._validation_fraction(refit) * n_rows))

    def _refits(self, n_rows, method):
        """``early_stopping='auto'`` on small data refits on every row."""
        return (
            self.early_stopping == "auto"
            and self._early_stopping(n_rows, method)
            and n_rows <= REFIT_MAX_ROWS
        )

    def _refit(self, X, likelihood, plan, selection, selection_net):
        """A new model on all the rows of X, trained as many iterations as
        early stopping chose on the held-out ones (0: the start, e.g. factor
        analysis of all the rows), with the step sizes the selection run
        took in them, as GridSearchCV refits its best candidate."""
        best_epoch = selection.best_epoch
        net = self._new_net(
            X,
            data_statistics(X, likelihood),
            likelihood,
            seed=self._rng.randint(2**31 - 1),
            X_init=X,
        )
        if not best_epoch:
            net.initialize()
            return net, None
        # The plateau rule records, in each iteration, the step size it ran
        # at (none in a KL warm-up, whose iterations keep the first); the
        # first iteration's warm-up is the refit's own.
        sizes = [plan.learning_rate] + [
            row.get("event_lr", plan.learning_rate)
            for row in selection_net.history[1:best_epoch]
        ]
        refit_plan = dataclasses.replace(
            plan,
            step_sizes=tuple(sizes),
            epochs=best_epoch,
            early_stopping=False,
            n_iter_no_change=2**31,
            progress_label="refit on all rows",
        )
        return net, net.run(X, refit_plan, seed=self._rng.randint(2**31 - 1))

    def _resolve_likelihood(self, X_raw, n_model):
        """The likelihood of the model's columns (``_tabular.likelihood_blocks``)."""
        table = self._table
        raw_names = self._raw_names()
        raw_to_model, _ = self._model_columns()
        if table is not None and table.categories:
            model_names, groups = table.feature_names_out, table.groups
        else:
            model_names, groups = raw_names, []
        blocks = likelihood_blocks(
            self.likelihood,
            raw_X=X_raw,
            raw_names=raw_names,
            model_names=model_names,
            groups=groups,
            raw_to_model=raw_to_model,
            near_constant_ratio=self.near_constant_ratio,
        )
        self._likelihood_blocks = [(name, cols) for name, _, cols in blocks]
        self._model_feature_names = list(model_names)
        return joined_likelihood(blocks)

    def _check_training_data(self, X, likelihood, method):
        """ValueError for values outside the likelihood's support; warn when the
        likelihood accepts the data but models it poorly."""
        names = getattr(self, "_model_feature_names", None)
        name = self.likelihood if isinstance(self.likelihood, str) else None
        check_support(X, likelihood, name=name, method=method, feature_names=names)
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

    def _plan(self, n_rows, method, fresh=True):
        """The training settings of one run on ``n_rows`` rows.

        An iteration is ``epochs_per_iter`` epochs, as many as make
        ``ITER_MIN_STEPS`` Adam steps (one epoch on larger data; always one
        in ``partial_fit``). ``'auto'``: ``max_iter`` = ``AUTO_MAX_ITER`` and
        ``n_iter_no_change`` = ``AUTO_PATIENCE`` iterations. ``fit`` warms
        the step size up over its first iteration and adapts it on plateaus.
        The held-out rows' scores use clip(2048 / held-out rows, 1, 16) noise
        draws a row.
        """
        early = self._early_stopping(n_rows, method)
        refit = fresh and self._refits(n_rows, method)
        n_valid = self._n_validation_rows(n_rows, refit) if early else 0
        n_train = max(1, n_rows - n_valid)
        steps = -(-n_train // min(self.batch_size, n_train))
        epochs_per_iter = max(1, -(-ITER_MIN_STEPS // steps))
        epochs = self.max_iter
        if method == "partial_fit":
            epochs = epochs_per_iter = 1
        elif epochs == "auto":
            epochs = AUTO_MAX_ITER
        patience = self.n_iter_no_change
        if patience == "auto":
            patience = AUTO_PATIENCE
        draws = int(np.clip(VALIDATION_DRAWS // max(n_valid, 1), 1, N_ELBO_SAMPLES))
        return TrainingPlan(
            epochs=epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            beta=self.beta,
            kl_warmup=self.kl_warmup,
            free_bits=self.free_bits,
            early_stopping=early,
            validation_fraction=self._validation_fraction(refit),
            n_iter_no_change=patience,
            tol=self.tol,
            verbose=self.verbose,
            n_importance_samples=self.n_importance_samples,
            noise=self._row_noise(draws),
            offset=self._x_offset,
            epochs_per_iter=epochs_per_iter,
            adaptive_learning_rate=method == "fit",
            warmup_steps=steps * epochs_per_iter if method == "fit" else 0,
            average_weights=method == "fit",
        )

    def _fresh_net(self, X, likelihood, method):
        """Seed this fit's generator, take the data's statistics, build a new
        net; return it and the seed of its training run.

        Draws, in order: the scoring noise's seed, the networks' seed, the
        training run's seed (which also splits off early stopping's held-out
        rows). The statistics (the encoder's standardization, the decoder's
        output map, the variance floors, the centring) are those of the rows
        it trains on, and a Gaussian model starts as their factor analysis:
        the held-out ones shape nothing the model learns, so that their score
        (early stopping's, the detector's threshold) is that of unseen rows.
        Also returns the held-out rows' sorted indices
        (None without early stopping).
        """
        self._rng = check_random_state(draw_seed(self.random_state))
        self._noise_seed = int(self._rng.randint(2**62))
        self._n_fit_rows = X.shape[0]
        self._auto_widths = None  # 'auto' resolves by these rows
        seed = self._rng.randint(2**31 - 1)
        run_seed = self._rng.randint(2**31 - 1)
        init_rows = held_out = None
        if self._early_stopping(X.shape[0], method):
            train_index, valid_index = validation_split(
                X.shape[0],
                self._validation_fraction(self._refits(X.shape[0], method)),
                run_seed,
            )
            init_rows, held_out = np.sort(train_index), np.sort(valid_index)
        # The statistics of the rows it trains on, as the start's.
        stats = data_statistics(X if init_rows is None else X[init_rows], likelihood)
        self._x_mean, self._x_scale = stats.mean, stats.scale
        location = list(likelihood.location_columns(X.shape[1]))
        self._x_offset = None
        if location:
            self._x_offset = np.zeros(X.shape[1])
            self._x_offset[location] = stats.mean[location]
        self._linear_path = True
        net = self._new_net(
            X, stats, likelihood, seed=seed, X_init=X, init_rows=init_rows
        )
        return net, run_seed, held_out

    def _new_net(self, X, stats, likelihood, seed, X_init=None, init_rows=None):
        """An untrained net around the networks for data of ``stats``.

        With ``X_init`` (the training rows, or those of them ``init_rows``
        names), a Gaussian model starts as their factor analysis
        (``_factory.factor_analysis_start``).
        """
        X_head = X[:2]
        if self._x_offset is not None:
            X_head = (X_head.toarray() if sp.issparse(X_head) else X_head) - (
                self._x_offset
            )
        module = build_module(
            X_head,
            stats,
            likelihood=copy.deepcopy(likelihood),
            n_components=self.n_components,
            hidden_layer_sizes=self._hidden_layer_sizes(),
            activation=self.activation,
            offset=self._x_offset,
            encoder=self.encoder,
            encoder_kwargs=self.encoder_kwargs,
            decoder=self.decoder,
            decoder_kwargs=self.decoder_kwargs,
            seed=seed,
            X_init=X_init,
            init_rows=init_rows,
            linear_path=self._linear_path,
        )
        self._built_architecture = architecture(self)
        # whether the encoder takes the missingness mask (a weights file
        # rebuilds it so): of these statistics, those of the refit's rows too
        self._has_missing = stats.has_missing
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

        width = n_samples * (self._model_width + self.n_components)
        return self._uncentred(self._map_rows(X, fill, width), X.dtype)

    def _model_columns(self):
        """{column name: its model columns} and the column names in order."""
        table = getattr(self, "_table", None)
        if table is not None and table.categories:
            out, position = {}, 0
            for name, width in table.widths.items():
                out[name] = list(range(position, position + width))
                position += width
            return out, list(table.columns)
        names = self._raw_names()
        return {name: [i] for i, name in enumerate(names)}, names

    def _raw_names(self):
        """The input's column names as strings (``x0``, ``x1``... without)."""
        return [str(n) for n in getattr(self, "feature_names_in_", [])] or [
            f"x{i}" for i in range(self.n_features_in_)
        ]

    def _condition_row(self, given):
        """The model row of ``sample(given=...)`` (data units, NaN where free)."""
        if not isinstance(given, Mapping):
            raise TypeError(
                "given must be a dict {column: value} (column names for a model "
                "fitted on a DataFrame, indices for one fitted on an array), got "
                f"{type(given).__name__}."
            )
        model_columns, names = self._model_columns()
        has_names = hasattr(self, "feature_names_in_") or (
            getattr(self, "_table", None) is not None
        )
        table = getattr(self, "_table", None)
        categories = table.categories if table is not None else {}
        row = np.full(self._model_width, np.nan)
        seen = {}
        for key, value in given.items():
            if isinstance(key, Integral) and not isinstance(key, (bool, np.bool_)):
                if not 0 <= key < len(names):
                    raise ValueError(
                        f"given names column index {key}, but the model has "
                        f"{len(names)} columns (0 to {len(names) - 1})."
                    )
                name = names[int(key)]
            elif isinstance(key, str) and has_names and key in model_columns:
                name = key
            elif isinstance(key, str) and not has_names:
                raise ValueError(
                    f"given names column {key!r}, but this model was fitted on "
                    "an array without column names: give columns by index."
                )
            else:
                raise ValueError(
                    f"given names column {key!r}, which is not a column the model "
                    f"was fitted on ({names})."
                )
            if name in seen:
                raise ValueError(
                    f"given fixes column {name!r} twice ({seen[name]!r} and {key!r})."
                )
            seen[name] = key
            cols = model_columns[name]
            if name in categories:
                code = table.category_codes(name, [value])[0]
                if value is None or code < 0:
                    shown = categories[name]
                    raise ValueError(
                        f"given[{key!r}] = {value!r} is not a category of column "
                        f"{name!r}; its categories are {shown}."
                    )
                row[cols] = 0.0
                row[cols[code]] = 1.0
                continue
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
                raise ValueError(
                    f"given[{key!r}] = {value!r}: column {name!r} is numeric, so "
                    "its value must be a real number."
                )
            if not math.isfinite(value):
                raise ValueError(
                    f"given[{key!r}] = {value!r}: the value of column {name!r} "
                    "must be finite."
                )
            if (
                table is not None
                and _is_integer_dtype_name(table.dtypes.get(name, ""))
                and float(value) != round(value)
            ):
                raise ValueError(
                    f"given[{key!r}] = {value!r}: column {name!r} holds integers "
                    f"(dtype {table.dtypes[name]}), so its value must be one."
                )
            # a spike column's value and indicator, a levels column's one-hot
            # group (``TableEncoder.spikes``, ``.levels``)
            entries = table.encode_numeric(name, [value])[0] if table else value
            if np.isnan(entries).all():
                raise ValueError(
                    f"given[{key!r}] = {value!r} is not a value of column "
                    f"{name!r} seen in fit, and the model gives its seen values "
                    f"only: {table.levels[name]}."
                )
            row[cols] = entries
        likelihood = self.net_.module_.likelihood
        check_support(
            row[None],
            likelihood,
            name=self.likelihood if isinstance(self.likelihood, str) else None,
            method="sample(given=...)",
            feature_names=getattr(self, "_model_feature_names", None),
        )
        return row

    def _conditional_codes(self, row, n_samples, n_proposals, rng):
        """``n_samples`` codes resampled from proposals for p(z | row's entries).

        Sampling importance resampling (Rubin 1987): ``n_proposals`` draws of
        the defensive mixture of :meth:`VAEModule.conditional_proposals`, and
        ``n_samples`` of them picked with replacement with probabilities
        proportional to their weights (numpy's ``rng``). Returns the codes,
        (n_samples, n_components) float64, and the weights' effective sample
        size (Kish), ``1 / sum_s p_s^2``.
        """
        module = self._inference_module(np.float64)
        device = self.net_.device
        x = row if self._x_offset is None else row - self._x_offset
        x = torch.as_tensor(x[None], dtype=torch.float64, device=device)
        eps = rng.standard_normal((n_proposals, 1, self.n_components))
        step = max(1, 2**20 // (self._model_width + self.n_components))
        zs, log_ws = [], []
        with torch.no_grad(), limited_torch_threads():
            for start in range(0, n_proposals, step):
                chunk = torch.as_tensor(eps[start : start + step], device=device)
                z, log_w = module.conditional_proposals(
                    x, chunk, CONDITIONAL_PRIOR_FRACTION
                )
                zs.append(z[:, 0].cpu().numpy())
                log_ws.append(log_w[:, 0].cpu().numpy())
        z, log_w = np.concatenate(zs), np.concatenate(log_ws)
        if not np.isfinite(log_w).any():
            raise ValueError(
                "The values in given have zero probability under the model (no "
                "proposal of z has a finite weight)."
            )
        p = np.exp(log_w - np.max(log_w))
        p = np.where(np.isfinite(p), p, 0.0)
        p /= p.sum()
        index = rng.choice(n_proposals, size=n_samples, replace=True, p=p)
        return z[index], float(1.0 / np.sum(p**2))

    def _hidden_layer_sizes(self):
        """The hidden widths; ``'auto'``: (64, 64) below 1000 training rows,
        else (256, 256) (the rows of the fit that built the networks), or
        the widths of a weights file whose 'auto' resolved otherwise."""
        if isinstance(self.hidden_layer_sizes, str):
            widths = getattr(self, "_auto_widths", None)
            if widths is not None:
                return widths
            small = getattr(self, "_n_fit_rows", 0) < AUTO_HIDDEN_ROWS
            return AUTO_HIDDEN_SMALL if small else AUTO_HIDDEN
        return hidden_layer_sizes(self.hidden_layer_sizes)

    def _validate_input(self, X, *, reset):
        """The model's matrix for X: validated, tables encoded (``_tabular``)."""
        if reset:
            self._table = (
                TableEncoder(
                    self.categorical_features,
                    spikes=isinstance(self.likelihood, str)
                    and self.likelihood == DEFAULT_LIKELIHOOD,
                ).fit(X)
                if table_library(X) is not None
                else None
            )
        table = getattr(self, "_table", None)
        if table is not None and table.categories:
            validate_data(self, X, reset=reset, skip_check_array=True)
            if table_library(X) is None:
                raise ValueError(
                    "This model was fitted on a table with categorical columns "
                    f"({sorted(table.categories)}): pass a DataFrame with the same "
                    "columns."
                )
            return check_array(
                table.transform(X), dtype=np.float64, ensure_all_finite="allow-nan"
            )
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
            where = ", ".join(
                f"{type(lik).__name__}: {describe_support(lik.support)}"
                for lik, _, _ in likelihood.column_blocks(X.shape[1])
                if lik.support.event_dim == 0
                and not isinstance(lik.support, constraints._Real)
            )
            warnings.warn(
                f"{n_clipped} values of X lie outside the support of their "
                f"likelihood ({where}); they were clipped (counts rounded) into "
                "it for scoring.",
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

    @property
    def _model_width(self):
        """Columns of the model's matrix (categorical columns one-hot)."""
        return len(self._x_mean)

    def _as_rows(self, X_model):
        """Model rows as the user's rows: a table like the training one when
        fitted on a DataFrame with categorical columns or with
        ``set_output(transform='pandas'|'polars')``; else the array."""
        table = getattr(self, "_table", None)
        output = output_container(self)
        if table is None or (output == "default" and not table.categories):
            return X_model
        return table.inverse_transform(X_model, output)

    def _uncentred(self, X_model, dtype):
        """Rows in the model's units back in data units, in ``dtype``."""
        if self._x_offset is None:
            return X_model.astype(dtype, copy=False)
        return (X_model.astype(np.float64) + self._x_offset).astype(dtype)
