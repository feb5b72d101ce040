"""skorch side of skvae: the net that trains a VAEModule, and its data feed.

The only module that knows skorch (with ``_skorch_overrides``). The estimator
(``skvae._transformer``) validates input, builds a :class:`VAENet` and hands it
a :class:`TrainingPlan` per run; the net never validates. Training uses
skorch's own loop, history and callbacks (``PassthroughScoring``,
``EarlyStopping``, ``predefined_split``); only the data feed is replaced, by an
iterator that slices whole mini-batches out of one in-memory array (skorch's
default ``Dataset`` fetches and collates one row at a time), and the held-out
score, by each row's own fixed noise (``validation_step``).
"""

import copy
import math
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.model_selection import train_test_split
from skorch.callbacks import Callback, EarlyStopping, LRScheduler, PassthroughScoring
from skorch.helper import predefined_split
from skorch.history import History
from skorch.utils import noop
from torch.optim.swa_utils import get_ema_multi_avg_fn

from skvae._runtime import as_tensor, limited_torch_threads
from skvae._skorch_overrides import LeanNeuralNet

# torch's fused Adam (one kernel for all the parameters) runs on CPU from
# torch 2.4: 4x faster steps than the default per-tensor loop on the small
# networks of tables, where the optimizer step is a fifth of a batch's time.
FUSED_ADAM = tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4)

# The adaptive step size (MLPRegressor's learning_rate='adaptive'): divided by
# LR_FACTOR after LR_PATIENCE + 1 iterations in a row without a gain.
LR_FACTOR, LR_PATIENCE = 0.2, 1

# The weights a fit keeps and scores are an exponential moving average of its
# iterates with a horizon of AVERAGE_ITERS iterations (WeightAverage).
AVERAGE_ITERS = 1.0


class DivergenceError(ValueError):
    """Training produced a non-finite loss."""


class RowDataset(torch.utils.data.Dataset):
    """Training rows held whole (a tensor or a CSR matrix), or a subset of them.

    Rows are gathered, densified (sparse input), centred by ``offset`` in
    float64 and cast to float32 one mini-batch at a time by
    :class:`BatchIterator`, never whole; each batch is moved to ``device``
    once, here: skorch's ``infer`` and the loss then find it there.

    Parameters
    ----------
    X : torch.Tensor or scipy.sparse.csr_matrix of shape (n_rows, n_features)
        The rows, in data units (NaN marks a missing entry).
    index : array-like of int, default=None
        The rows of X this dataset holds (None: all).
    keys : ndarray of uint64, default=None
        A noise key per held row (see ``skvae._noise``), for validation.
    offset : ndarray of shape (n_features,), default=None
        Subtracted from every row in float64 before the cast to float32.
    device : str, default='cpu'
    """

    def __init__(self, X, index=None, keys=None, offset=None, device="cpu"):
        self.X = X
        self.index = (
            torch.arange(X.shape[0])
            if index is None
            else torch.as_tensor(np.asarray(index), dtype=torch.long)
        )
        self.keys = keys
        self.offset = None if offset is None else torch.as_tensor(offset)
        self.device = device

    def __len__(self):
        return len(self.index)

    def rows(self, positions):
        """Dense float32 tensor of the held rows at ``positions`` (1-D int tensor)."""
        index = self.index[positions]
        if sp.issparse(self.X):
            rows = torch.from_numpy(self.X[index.numpy()].toarray())
        else:
            rows = self.X[index]
        if self.offset is not None:
            rows = rows.to(torch.float64) - self.offset
        return rows.to(device=self.device, dtype=torch.float32)

    def row_keys(self, positions):
        """The noise keys of the held rows at ``positions``, or None."""
        return None if self.keys is None else self.keys[positions.numpy()]

    def __getitem__(self, i):
        return self.rows(torch.as_tensor([i]))[0], torch.empty(0)


class BatchIterator:
    """Whole mini-batches of a :class:`RowDataset`.

    Yields ``(X_batch, keys_batch)`` (keys None unless the dataset has them);
    shuffles with ``generator`` (the training run's own, see
    :meth:`VAENet.run`), anew for each of ``passes`` passes over the rows
    (several epochs make one training iteration on small data).
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None, passes=1):
        self.data = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.passes = passes

    def __len__(self):
        return self.passes * -(-len(self.data) // self.batch_size)

    def __iter__(self):
        for _ in range(self.passes):
            positions = torch.arange(len(self.data))
            if self.shuffle:
                order = torch.randperm(len(positions), generator=self.generator)
                positions = positions[order]
            for start in range(0, len(positions), self.batch_size):
                batch = positions[start : start + self.batch_size]
                yield self.data.rows(batch), self.data.row_keys(batch)


@dataclass(frozen=True)
class TrainingPlan:
    """The settings of one training run (the estimator's parameters, mapped).

    ``early_stopping``: hold out ``validation_fraction`` of the rows and stop
    when their ELBO has not improved by ``tol`` for ``n_iter_no_change``
    epochs, restoring the best weights; otherwise the same rule on the
    training loss, keeping the last weights. The held-out ELBO is scored with
    ``noise``, each row's own fixed draws (``skvae._noise.RowNoise``), so it
    changes between epochs only as the model does. ``n_importance_samples``
    > 1 trains on the importance-weighted bound (IWAE), and early stopping
    then watches the held-out importance-weighted bound (with the draws of
    ``noise``): the ELBO of a model trained on the IWAE bound falls while
    the bound rises.
    """

    epochs: int
    batch_size: int
    learning_rate: float
    beta: float = 1.0
    kl_warmup: int = 0
    free_bits: float = 0.0
    early_stopping: bool = False
    validation_fraction: float = 0.1
    n_iter_no_change: int = 10
    tol: float = 1e-4
    verbose: int = 0
    n_importance_samples: int = 1
    noise: object = None
    offset: object = None
    epochs_per_iter: int = 1
    adaptive_learning_rate: bool = False
    warmup_steps: int = 0
    #: the step size of each iteration, replayed instead of adapting it (a
    #: refit takes its selection run's); None: adapt as above
    step_sizes: tuple | None = None
    #: what the verbose=1 progress bar calls this run (None: nothing)
    progress_label: str | None = None
    #: hold out, score and keep the moving average of the weights
    #: (:class:`WeightAverage`) instead of the last iterate
    average_weights: bool = False


class TrainingOutcome(NamedTuple):
    """What a run did: whether the stopping rule fired, how many epochs it
    finished, and with early stopping the held-out score of the weights
    kept (``validation_key`` names it in the history) and after how many of
    its epochs they were (0: the weights it started from)."""

    stopped: bool
    epochs: int
    best_validation_score: float | None
    best_epoch: int | None = None
    validation_key: str = "valid_elbo"


class VAENet(LeanNeuralNet):
    """skorch ``NeuralNet`` whose loss is the beta-weighted negative ELBO.

    Loss of a mini-batch (Kingma & Welling 2013, eq. 10; Higgins et al. 2017):
    ``mean_rows[-log p(x|z)] + beta_t * KL``, where ``z`` is one reparameterized
    draw per row, ``KL`` is the closed form of AEVB appendix B averaged over
    the rows, and ``beta_t = beta * min(1, epoch / kl_warmup)`` (KL warm-up,
    Sonderby et al. 2016). With ``free_bits > 0`` each latent dimension's
    batch-averaged KL counts as at least ``free_bits`` nats (Kingma et al. 2016).
    The module computes the terms (:meth:`skvae.VAEModule.forward`); the net
    weighs them.

    Per batch, the history records ``{train,valid}_reconstruction`` (the
    negative log-likelihood), ``{train,valid}_kl`` and ``{train,valid}_elbo``
    (the plain ELBO, beta = 1), all in nats per sample.

    Parameters
    ----------
    module : VAEModule
        The networks, built by the estimator.
    criterion : None
        Unused: the loss is :meth:`get_loss`.
    beta : float, default=1.0
        Weight of the KL term (beta-VAE, Higgins et al. 2017).
    kl_warmup : int, default=0
        Epochs of the linear KL warm-up (Sonderby et al. 2016, "Ladder
        Variational Autoencoders", its warm-up); 0 disables it.
    free_bits : float, default=0.0
        Minimum KL per latent dimension, nats (Kingma et al. 2016, "Improved
        Variational Inference with Inverse Autoregressive Flow", its free
        bits); 0 disables it.
    n_importance_samples : int, default=1
        S > 1 trains on the importance-weighted bound of Burda et al. (2016),
        eq. 8, with S draws per row and weights
        ``p(x|z) [p(z) / q(z|x)]^beta_t`` (beta_t = 1: the IWAE bound).
    **kwargs
        Any other ``skorch.NeuralNet`` parameter. Defaults: Adam, no internal
        validation split, and the whole-batch data feed of this module.

    Raises
    ------
    DivergenceError
        From :meth:`get_loss`, when the loss of a training batch is not finite
        (a held-out batch's is recorded as it is).
    """

    def __init__(
        self,
        module,
        criterion=None,
        *,
        beta=1.0,
        kl_warmup=0,
        free_bits=0.0,
        n_importance_samples=1,
        epochs_per_iter=1,
        **kwargs,
    ):
        kwargs.setdefault("optimizer", torch.optim.Adam)
        if FUSED_ADAM:
            kwargs.setdefault("optimizer__fused", True)
        kwargs.setdefault("dataset", RowDataset)
        kwargs.setdefault("train_split", None)
        super().__init__(module, criterion, **kwargs)
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.free_bits = free_bits
        self.n_importance_samples = n_importance_samples
        self.epochs_per_iter = epochs_per_iter
        self.generator_ = None  # the training run's own, set by run()

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_inference_copy", None)  # a cache, rebuilt on demand
        return state

    def initialize_criterion(self):
        """No criterion module: the loss is :meth:`get_loss`."""
        self.criterion_ = None
        return self

    # ---------------------------------------------------------------- loss

    def kl_weight(self):
        """beta, ramped linearly from 0 over the first ``kl_warmup`` epochs."""
        if not self.kl_warmup:
            return self.beta
        epoch = len(self.history) if self.history is not None else self.kl_warmup
        return self.beta * min(1.0, epoch / self.kl_warmup)

    def get_iterator(self, dataset, training=False):
        """Whole-batch iterator; training batches shuffled by the run's
        generator, ``epochs_per_iter`` passes over the rows per iteration."""
        return BatchIterator(
            dataset,
            self.batch_size,
            shuffle=training,
            generator=self.generator_ if training else None,
            passes=self.epochs_per_iter if training else 1,
        )

    def train_step(self, batch, **fit_params):
        """skorch's training step, counted: fused Adam updates the weights
        without bumping their in-place version counters, so
        :meth:`module_for_inference` tells new weights by this count."""
        self.n_weight_updates_ = getattr(self, "n_weight_updates_", 0) + 1
        return super().train_step(batch, **fit_params)

    def infer(self, x, **fit_params):
        """The module's training terms for a batch, with S = n_importance_samples.

        The reparameterization noise comes from the run's own generator.
        """
        return self.module_(
            x, n_samples=self.n_importance_samples, generator=self.generator_
        )

    def get_loss(self, y_pred, y_true=None, X=None, training=False):
        """The beta-weighted negative ELBO (or IW bound) of a batch.

        Records the batch's reconstruction, KL and plain ELBO (beta = 1).
        """
        log_px, kl_per_dim, log_pz_over_qz = y_pred
        reconstruction = -log_px.mean()
        kl_per_dim = kl_per_dim.mean(dim=0)
        kl = kl_per_dim.sum()
        if log_pz_over_qz is not None:  # IWAE, Burda et al. (2016), eq. 8
            log_w = log_px + self.kl_weight() * log_pz_over_qz
            bound = torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])
            loss = -bound.mean()
        else:
            if self.free_bits:
                kl_objective = kl_per_dim.clamp(min=self.free_bits).sum()
            else:
                kl_objective = kl
            loss = reconstruction + self.kl_weight() * kl_objective
        return self._record(reconstruction, kl, loss, "train" if training else "valid")

    def _record(self, reconstruction, kl, loss, prefix):
        """Record a batch's terms in the history; DivergenceError if a
        training batch's loss is not finite.

        A held-out batch's may be (a row far outside what the training rows
        span overflows float32): it is recorded as it is, and early stopping
        never counts it as an improvement; training goes on.
        """
        recon_value, kl_value, loss_value = torch.stack(
            [reconstruction, kl, loss]
        ).tolist()
        if prefix == "train" and not np.isfinite(loss_value):
            raise DivergenceError(
                f"the loss became {loss_value} in epoch {len(self.history)}"
            )
        self.history.record_batch(f"{prefix}_reconstruction", recon_value)
        self.history.record_batch(f"{prefix}_kl", kl_value)
        self.history.record_batch(f"{prefix}_elbo", -(recon_value + kl_value))
        return loss

    def validation_step(self, batch, **fit_params):
        """The held-out batch's ELBO with each row's own fixed noise draws.

        Deterministic: the same rows get the same noise every epoch, so the
        held-out score changes only as the model does. The recorded
        ``valid_elbo`` (early stopping's monitor) is the mean log-weight
        (:meth:`skvae.VAEModule.held_out_terms`) and ``valid_kl`` the sampled
        KL, so that ``valid_elbo = -(valid_reconstruction + valid_kl)``.
        Training on the importance-weighted bound (``n_importance_samples``
        > 1), the bound with the same draws is recorded too, as ``valid_iw``,
        and early stopping watches it instead.
        """
        self._set_training(False)
        x, keys = batch
        with torch.no_grad():
            log_px, kl, log_w, bound = self._held_out_terms(x, keys)
            reconstruction, sampled_kl = -log_px.mean(), (log_px - log_w).mean()
            loss = reconstruction + self.kl_weight() * kl.mean()
            loss = self._record(reconstruction, sampled_kl, loss, "valid")
            if self.n_importance_samples > 1:
                self.history.record_batch("valid_iw", bound.mean().item())
        return {"loss": loss, "y_pred": log_w}

    def _held_out_terms(self, x, keys):
        eps = torch.as_tensor(
            self.validation_noise_.from_keys(keys), dtype=x.dtype, device=x.device
        )
        return self.module_.held_out_terms(x, eps)

    def held_out_score(self, dataset, key="valid_elbo"):
        """The current model's mean held-out score of a validation dataset.

        Parameters
        ----------
        dataset : torch Dataset
            Held-out rows with their noise keys (as the validation split).
        key : {'valid_elbo', 'valid_iw'}, default='valid_elbo'
            The mean log-weight (ELBO) or the importance-weighted bound.

        Returns
        -------
        float
            Nats per row.
        """
        self._set_training(False)
        total, n = 0.0, 0
        index = 3 if key == "valid_iw" else 2
        with torch.no_grad():
            for x, keys in BatchIterator(dataset, self.batch_size):
                total += float(self._held_out_terms(x, keys)[index].sum())
                n += len(x)
        return total / n

    # ------------------------------------------------------------ training

    def run(self, X, plan, *, seed):
        """Train for up to ``plan.epochs`` epochs on X, from the current weights.

        A fresh net is initialized first; a trained one continues, with
        Adam's state, the history and the epoch count of the KL warm-up. On
        any error (also Ctrl-C outside skorch's loop) the weights, Adam's
        state and the history are put back as they were; Ctrl-C inside the
        loop ends training with the epochs finished (skorch's behaviour).

        Parameters
        ----------
        X : ndarray or CSR matrix of shape (n_samples, n_features)
            Training rows in data units (NaN: missing), centred by
            ``plan.offset`` and cast to float32 one batch at a time.
        plan : TrainingPlan
            The run's settings (epochs, batch size, learning rate, beta,
            stopping rule, ...).
        seed : int
            Seeds the validation split and torch's generator for the run
            (shuffling, the reparameterization noise).

        Returns
        -------
        TrainingOutcome
            Whether the stopping rule fired, the epochs finished, and the
            held-out ELBO of the weights kept.
        """
        warm = self.initialized_  # continuing a trained (or loaded) net
        rollback = self._snapshot() if warm else None
        epochs_before = len(self.history) if warm else 0
        stopper = self._configure(plan)
        data = X if sp.issparse(X) else as_tensor(X, X.dtype)
        train, valid = self._split(data, X, plan, seed)
        self.train_split = None if valid is None else predefined_split(valid)
        stopper.start_from = None
        # The run's own generator shuffles and draws the reparameterization
        # noise: concurrent fits in threads of one process (Dask worker
        # threads) must not share torch's global one. The global one is still
        # seeded, for custom networks' dropout, in a fork of its state.
        self.generator_ = torch.Generator(device=self.device).manual_seed(seed)
        devices = [torch.device(self.device)] if "cuda" in str(self.device) else []
        try:
            with limited_torch_threads(), torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                if self.initialized_:
                    self.initialize_callbacks()
                else:
                    self.initialize()
                if valid is not None and not plan.kl_warmup and not warm:
                    # The weights a fresh net starts from are a candidate too
                    # (epoch 0): a model started at factor analysis keeps
                    # that start unless training beats it on the held-out
                    # rows. Not in a warm start: there they are the last
                    # fit's result, and under new settings (a larger beta)
                    # the held-out ELBO would only fall, so that the start
                    # always won and the continued fit changed nothing.
                    stopper.start_from = (
                        self.held_out_score(valid, _validation_key(plan)),
                        epochs_before,
                    )
                self.partial_fit(train)
        except BaseException:
            if rollback is not None:
                self._restore(rollback)
            raise
        finally:
            self.train_split = None  # it holds the data: never pickled with the net
            self.generator_ = None
            average = dict(getattr(self, "callbacks_", [])).get("weight_average")
            if average is not None:  # its tensors, also after an error
                average.clear()
        self._drop_unfinished_epoch()
        best = self._best_validation(plan, stopper)
        return TrainingOutcome(
            stopped=stopper.misses_ >= stopper.patience,
            epochs=len(self.history) - epochs_before,
            best_validation_score=best[0],
            best_epoch=None if best[1] is None else best[1] - epochs_before,
            validation_key=_validation_key(plan),
        )

    def _split(self, data, X, plan, seed):
        """Training and validation RowDatasets (no validation without early stopping).

        The validation rows get their noise keys here, once per run.
        """
        dataset = partial(RowDataset, data, offset=plan.offset, device=self.device)
        if not plan.early_stopping:
            return dataset(), None
        train_index, valid_index = validation_split(
            X.shape[0], plan.validation_fraction, seed
        )
        valid_rows = X[np.sort(valid_index)]
        if sp.issparse(valid_rows):
            valid_rows = valid_rows.toarray()
        self.validation_noise_ = plan.noise
        keys = plan.noise.keys(valid_rows)
        return dataset(index=train_index), dataset(
            index=np.sort(valid_index), keys=keys
        )

    def _configure(self, plan):
        """Set the run's parameters and callbacks; return the stopping rule."""
        early = plan.early_stopping
        self.set_params(
            lr=plan.learning_rate,
            batch_size=plan.batch_size,
            max_epochs=plan.epochs,
            beta=plan.beta,
            kl_warmup=plan.kl_warmup,
            free_bits=plan.free_bits,
            n_importance_samples=plan.n_importance_samples,
            epochs_per_iter=plan.epochs_per_iter,
            verbose=int(plan.verbose >= 2),
        )
        stopper = WarmupEarlyStopping(
            monitor=_validation_key(plan) if early else "train_loss",
            lower_is_better=not early,
            patience=plan.n_iter_no_change,
            threshold=plan.tol,
            threshold_mode="abs",
            load_best=early,
            sink=noop,
        )
        names = ["reconstruction", "kl", "elbo"]
        callbacks = [
            (f"train_{n}", PassthroughScoring(name=f"train_{n}", on_train=True))
            for n in names
        ]
        if early:
            if plan.n_importance_samples > 1:
                names.append("iw")
            callbacks += [
                (f"valid_{n}", PassthroughScoring(name=f"valid_{n}")) for n in names
            ]
        if plan.warmup_steps > 1:
            # Linear warm-up of the step size (Goyal et al. 2017): Adam's
            # first steps, of full size whatever the gradient, would throw a
            # model away from its start (the factor analysis) before its
            # moment estimates settle.
            callbacks.append(
                (
                    "learning_rate_warmup",
                    LRScheduler(
                        policy=torch.optim.lr_scheduler.LinearLR,
                        start_factor=1.0 / plan.warmup_steps,
                        total_iters=plan.warmup_steps - 1,
                        # a warm-up of this run (skorch would count the
                        # net's past epochs)
                        last_epoch=-1,
                        step_every="batch",
                        event_name=None,
                    ),
                )
            )
        if plan.step_sizes:
            # A refit replays its selection run's step sizes: the weights that
            # early stopping kept were reached with them.
            callbacks.append(
                (
                    "learning_rate",
                    LRScheduler(
                        policy=torch.optim.lr_scheduler.MultiplicativeLR,
                        lr_lambda=StepSizes(plan.step_sizes),
                        last_epoch=-1,
                    ),
                )
            )
        elif plan.adaptive_learning_rate:
            # MLPRegressor's learning_rate='adaptive': the step size is
            # divided by 5 each time two iterations in a row fail to improve
            # the watched score by tol (torch's ReduceLROnPlateau).
            callbacks.append(
                (
                    "learning_rate",
                    WarmupLRScheduler(
                        policy=torch.optim.lr_scheduler.ReduceLROnPlateau,
                        monitor=stopper.monitor,
                        mode="max" if early else "min",
                        factor=LR_FACTOR,
                        patience=LR_PATIENCE,
                        threshold=plan.tol,
                        threshold_mode="abs",
                    ),
                )
            )
        if plan.average_weights:
            # before "stop": early stopping scores and keeps the average
            callbacks.append(("weight_average", WeightAverage(AVERAGE_ITERS)))
        callbacks.append(("stop", stopper))
        if plan.verbose == 1:
            callbacks.append(
                ("progress", EpochProgressBar(plan.epochs, desc=plan.progress_label))
            )
        self.callbacks = callbacks
        return stopper

    def _snapshot(self):
        return (
            copy.deepcopy(self.module_.state_dict()),
            copy.deepcopy(self.optimizer_.state_dict()),
            len(self.history),
        )

    def _restore(self, snapshot):
        module_state, optimizer_state, n_epochs = snapshot
        self.module_.load_state_dict(module_state)
        self.optimizer_.load_state_dict(optimizer_state)
        del self.history[n_epochs:]

    def _drop_unfinished_epoch(self):
        """Forget an iteration cut short by Ctrl-C, early stopping's weight
        copy and the step-size schedules' hold on the optimizer."""
        history = self.history
        if len(history) and "train_loss" not in history[-1]:
            # skorch stops on KeyboardInterrupt and keeps the weights: count
            # and record only the epochs that finished.
            history.pop()
        for _, callback in self.callbacks_:
            # skorch's EarlyStopping keeps its copy of the best weights after
            # restoring them: twice the model's memory in every pickle, and
            # device tensors that skorch's CUDA-to-CPU remapping does not see.
            if getattr(callback, "best_model_weights_", None) is not None:
                callback.best_model_weights_ = None
            # The step-size schedules hold the optimizer (and so the weights'
            # tensors) outside skorch's CUDA-to-CPU remapping too; they are
            # built anew at the start of every run.
            if getattr(callback, "lr_scheduler_", None) is not None:
                callback.lr_scheduler_ = None

    def _best_validation(self, plan, stopper):
        """(held-out ELBO, epoch) of the weights early stopping kept, else Nones."""
        if not plan.early_stopping:
            return None, None
        key = _validation_key(plan)
        start = stopper.start_from
        if start is not None and stopper.best_epoch_ == start[1]:
            return start  # the starting weights stayed the best
        if stopper.best_epoch_:
            return self.history[stopper.best_epoch_ - 1, key], stopper.best_epoch_
        # all in warm-up: nothing restored, the last weights kept
        return self.history[-1, key], len(self.history)

    # ------------------------------------------------------------- history

    def epoch_values(self, key):
        """The per-epoch values of ``key`` in the history, as a list."""
        return list(self.history[:, key]) if len(self.history) else []

    def load_history(self, rows):
        """Replace the history by per-epoch ``rows`` (dicts), with no batches."""
        self.history_ = History([{**row, "batches": []} for row in rows])

    def history_rows(self):
        """The per-epoch history as plain dicts, without the per-batch records."""
        return [
            {k: _plain(v) for k, v in row.items() if k != "batches"}
            for row in self.history
        ]

    # ----------------------------------------------------------- inference

    def module_for_inference(self, dtype):
        """``module_`` in eval mode, or a copy of it cast to ``dtype``.

        Inference in float64 (for float64 input) needs float64 weights: the
        copy is made once and reused until the weights change, which every
        training step signals by its count and ``load_state_dict`` through
        the tensors' in-place version counters.

        Parameters
        ----------
        dtype : torch.dtype
            ``torch.float32`` (the training dtype) or ``torch.float64``.

        Returns
        -------
        module : VAEModule
            In eval mode; do not train it.
        """
        module = self.module_
        module.eval()
        if next(module.parameters()).dtype == dtype:
            return module
        tensors = module.state_dict(keep_vars=True).values()
        versions = tuple(t._version for t in tensors)
        key = (id(module), dtype, getattr(self, "n_weight_updates_", 0), versions)
        cached = getattr(self, "_inference_copy", None)
        if cached is None or cached[0] != key:
            cached = (key, copy.deepcopy(module).to(dtype).eval())
            self._inference_copy = cached
        return cached[1]


def _in_kl_warmup(net):
    """Whether the net's last iteration still ramped the KL weight up."""
    return len(net.history) < getattr(net, "kl_warmup", 0)


class WarmupEarlyStopping(EarlyStopping):
    """skorch's ``EarlyStopping`` that ignores the KL warm-up epochs.

    While beta is still being ramped up (the net's first ``kl_warmup``
    epochs, counted over all fits), the training loss rises with the KL weight
    and the held-out ELBO belongs to a model of a smaller beta: neither may
    stop training, and no weights from then are kept as the best. Counting
    starts at the first epoch trained with the full beta.
    """

    #: (held-out score, epoch) of the weights training starts from, which
    #: count as a candidate for the best (set by VAENet.run), or None.
    start_from = None

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        if self.start_from is not None:
            score, epoch = self.start_from
            self.dynamic_threshold_ = self._calc_new_threshold(score)
            self.best_epoch_ = epoch
            if self.load_best:
                self.best_model_weights_ = copy.deepcopy(net.module_.state_dict())

    def on_epoch_end(self, net, **kwargs):
        if not _in_kl_warmup(net):
            super().on_epoch_end(net, **kwargs)


class WeightAverage(Callback):
    """Score and keep an exponential moving average of the weights.

    After every Adam step the average moves toward the new weights,
    ``w_avg <- decay * w_avg + (1 - decay) * w`` (Polyak & Juditsky 1992,
    "Acceleration of stochastic approximation by averaging", in its
    exponential form; torch's ``get_ema_multi_avg_fn``), with
    ``decay = 1 - 1 / (horizon * steps of an iteration)``. The average
    replaces the weights for the held-out score at the end of each iteration
    (and for early stopping's copy of the best), and the weights go back to
    the last iterate when the next iteration trains; the weights a run ends
    with are the average (or, with early stopping, the best average). It
    smooths the noise of the last steps out of the model kept: a higher
    held-out ELBO for the same steps, and less variation from seed to seed.
    Only the parameters (phi and theta) are averaged, not the buffers.

    Parameters
    ----------
    horizon : float
        Iterations the average spans (its decay's time constant).
    """

    def __init__(self, horizon):
        self.horizon = horizon

    def on_train_begin(self, net, X=None, **kwargs):
        steps = len(net.get_iterator(X, training=True))  # Adam steps an iteration
        self.update_ = get_ema_multi_avg_fn(1.0 - 1.0 / max(1.0, self.horizon * steps))
        self.weights_ = [p.detach() for p in net.module_.parameters()]
        self.average_ = [w.clone() for w in self.weights_]
        self.last_ = None  # the last iterate while the average stands in

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.update_(self.average_, self.weights_, None)

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            self._swap_in()

    def on_epoch_end(self, net, **kwargs):
        self._swap_in()  # an iteration without held-out rows

    def on_epoch_begin(self, net, **kwargs):
        if self.last_ is not None:
            torch._foreach_copy_(self.weights_, self.last_)
            self.last_ = None

    def on_train_end(self, net, **kwargs):
        self._swap_in()  # a run cut short by Ctrl-C mid-iteration
        self.clear()

    def clear(self):
        """Drop the run's tensors (the callback is built anew every run)."""
        self.weights_ = self.average_ = self.last_ = self.update_ = None

    @torch.no_grad()
    def _swap_in(self):
        if self.last_ is None and self.average_ is not None:
            self.last_ = [w.clone() for w in self.weights_]
            torch._foreach_copy_(self.weights_, self.average_)


class StepSizes:
    """``MultiplicativeLR``'s factor at the start of each iteration: the ratio
    of its step size to the last one's, from ``sizes`` (one per iteration;
    1 after them). Multiplicative, so that the first iteration's warm-up
    (``LinearLR``, chained on the same optimizer) is left as it is. A class,
    not a closure, so that a fitted net pickles."""

    def __init__(self, sizes):
        self.sizes = [float(size) for size in sizes]

    def __call__(self, iteration):
        if 1 <= iteration < len(self.sizes):
            return self.sizes[iteration] / self.sizes[iteration - 1]
        return 1.0


class WarmupLRScheduler(LRScheduler):
    """skorch's ``LRScheduler`` that, like :class:`WarmupEarlyStopping`,
    ignores the KL warm-up iterations (their scores belong to a smaller beta)."""

    def on_epoch_end(self, net, **kwargs):
        if not _in_kl_warmup(net):
            super().on_epoch_end(net, **kwargs)


class EpochProgressBar(Callback):
    """A tqdm bar over iterations showing the loss, reconstruction and KL, with
    ``desc`` before it (e.g. ``"refit on all rows"``: a second run's bar)."""

    def __init__(self, total, desc=None):
        self.total = total
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=self.total, desc=self.desc, unit="iteration", leave=True)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        shown = {
            "loss": row["train_loss"],
            "rec": row.get("train_reconstruction"),
            "kl": row.get("train_kl"),
            "val_elbo": row.get("valid_elbo"),
        }
        self.bar_.set_postfix(
            {k: f"{v:.3g}" for k, v in shown.items() if v is not None}, refresh=False
        )
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("bar_", None)
        return state


def validation_split(n_rows, validation_fraction, seed):
    """Indices of the training and the held-out rows of a run seeded ``seed``
    (``train_test_split`` of the row numbers)."""
    return train_test_split(
        np.arange(n_rows), test_size=validation_fraction, random_state=seed
    )


def _validation_key(plan):
    """The held-out score early stopping watches: the training objective's."""
    return "valid_iw" if plan.n_importance_samples > 1 else "valid_elbo"


def _plain(value):
    """A history value as plain Python (numpy scalars to int or float)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
