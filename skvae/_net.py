"""skorch side of skvae: the net whose loss is the negative ELBO, and its data feed.

The estimator (``skvae._transformer``) validates input and owns one ``VAENet``
as ``net_``; the net never validates. Training uses skorch's own loop, history
and callbacks; only the data feed is replaced, by an iterator that slices whole
mini-batches out of one in-memory array (skorch's default ``Dataset`` fetches
and collates one row at a time, measured at 1.2-1.8x the time per epoch of a
bare PyTorch loop on this kind of machine; see ``../shared/FINDINGS.md``).
"""

import copy

import numpy as np
import scipy.sparse as sp
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping
from torch.utils.data import Subset

from skvae._likelihoods import gaussian_kl_per_dim

# Stands for ``module_`` in the pickled state of a VAENet (see __getstate__).
_SAME_AS_MODULE_ = "<the trained module_>"


# Events skorch notifies on every batch.
BATCH_EVENTS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


def _overrides(callback, event):
    """True if ``callback`` does something on ``event`` (not Callback's no-op)."""
    return event in vars(callback) or getattr(type(callback), event) is not getattr(
        Callback, event
    )


class DivergenceError(ValueError):
    """Training produced a non-finite loss."""


class RowDataset(torch.utils.data.Dataset):
    """The training rows, held whole: a float32 tensor or a CSR matrix.

    Sparse rows are densified one mini-batch at a time by :class:`BatchIterator`,
    never whole. Each batch is moved to ``device`` once, here: skorch's
    ``infer`` and the loss then find it there.
    """

    def __init__(self, X, device="cpu"):
        self.X = X
        self.device = device

    def __len__(self):
        return self.X.shape[0]

    def rows(self, index):
        """Dense float32 tensor of the rows ``index`` (a 1-D int tensor)."""
        if sp.issparse(self.X):
            rows = torch.from_numpy(self.X[index.numpy()].toarray())
        else:
            rows = self.X[index]
        return rows.to(self.device)

    def __getitem__(self, i):
        return self.rows(torch.as_tensor([i]))[0], torch.empty(0)


class BatchIterator:
    """Whole mini-batches of a :class:`RowDataset`, or of a ``Subset`` of one.

    Yields ``(X_batch, None)``; shuffles with torch's global generator, which
    the estimator seeds inside ``torch.random.fork_rng``.
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        if isinstance(dataset, Subset):
            self.data = dataset.dataset
            self.index = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
        else:
            self.data = dataset
            self.index = torch.arange(len(dataset))
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return -(-len(self.index) // self.batch_size)

    def __iter__(self):
        index = self.index
        if self.shuffle:
            index = index[torch.randperm(len(index))]
        for start in range(0, len(index), self.batch_size):
            yield self.data.rows(index[start : start + self.batch_size]), None


class VAENet(NeuralNet):
    """skorch ``NeuralNet`` whose loss is the beta-weighted negative ELBO.

    Loss of a mini-batch (Kingma & Welling 2013, eq. 10; Higgins et al. 2017):
    ``mean_rows[-log p(x|z)] + beta_t * KL``, where ``z`` is one reparameterized
    draw per row, ``KL`` is the closed form of AEVB appendix B averaged over
    the rows, and ``beta_t = beta * min(1, epoch / kl_warmup)`` (KL warm-up,
    Sonderby et al. 2016). With ``free_bits > 0`` each latent dimension's
    batch-averaged KL counts as at least ``free_bits`` nats (Kingma et al. 2016).

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
    **kwargs
        Any other ``skorch.NeuralNet`` parameter.

    Raises
    ------
    DivergenceError
        From :meth:`get_loss`, when the loss of a batch is not finite.
    """

    def __init__(
        self, module, criterion=None, *, beta=1.0, kl_warmup=0, free_bits=0.0, **kwargs
    ):
        super().__init__(module, criterion, **kwargs)
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.free_bits = free_bits

    def __getstate__(self):
        # ``module`` is the VAEModule instance the estimator passed in, which
        # skorch trains in place as ``module_``. skorch pickles ``module_``
        # apart so that CUDA tensors are remapped to the CPU on a machine
        # without a GPU; ``module`` would be pickled again as is, and fail to
        # load there. Keep one copy: ``module_``.
        state = super().__getstate__()
        state.pop("_inference_copy", None)  # a cache, rebuilt on demand
        if state.get("module") is self.__dict__.get("module_"):
            state["module"] = _SAME_AS_MODULE_
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if isinstance(self.module, str) and self.module == _SAME_AS_MODULE_:
            self.module = self.module_

    def module_for_inference(self, dtype):
        """``module_`` in eval mode, or a copy of it cast to ``dtype``.

        Inference in float64 (for float64 input) needs float64 weights: the
        copy is made once and reused until the weights change, which every
        optimizer step or ``load_state_dict`` signals through the tensors'
        in-place version counters.

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
        key = (id(module), dtype, tuple(t._version for t in tensors))
        cached = getattr(self, "_inference_copy", None)
        if cached is None or cached[0] != key:
            cached = (key, copy.deepcopy(module).to(dtype).eval())
            self._inference_copy = cached
        return cached[1]

    def initialize_criterion(self):
        """No criterion module: the loss is :meth:`get_loss`."""
        self.criterion_ = None
        return self

    # Three trims of skorch's per-batch and per-epoch bookkeeping, which cost
    # 5-10 % of an epoch of the default networks on CPU (benchmarks/RESULTS.md).
    # None changes what is trained, recorded or called back.

    def get_default_callbacks(self):
        """skorch's defaults, without ``print_log`` unless ``verbose``.

        ``PrintLog`` formats a table every epoch even when it prints nothing.
        """
        callbacks = super().get_default_callbacks()
        if not self.verbose:
            callbacks = [(n, cb) for n, cb in callbacks if n != "print_log"]
        return callbacks

    def _set_training(self, training=True):
        """Set train or eval mode, skipping the walk when nothing would change.

        skorch calls this before every batch; ``Module.train`` sets the flag on
        every submodule through ``Module.__setattr__``. The mode is only ever
        set on the whole module (by skorch, or ``eval()`` before inference), so
        its top-level flag tells the mode of all of it.
        """
        module = self.module_
        if isinstance(module, torch.nn.Module) and module.training == training:
            return
        super()._set_training(training)

    def initialize_callbacks(self):
        """skorch's, then note which callbacks act on the per-batch events."""
        super().initialize_callbacks()
        self.batch_listeners_ = {
            event: [cb for _, cb in self.callbacks_ if _overrides(cb, event)]
            for event in BATCH_EVENTS
        }
        return self

    def notify(self, method_name, **cb_kwargs):
        """skorch's ``notify``; per-batch events skip callbacks that ignore them.

        A callback that does not override ``on_batch_begin``, ``on_batch_end``
        or ``on_grad_computed`` has the base class's no-op there, so not
        calling it changes nothing.
        """
        if method_name not in BATCH_EVENTS:
            return super().notify(method_name, **cb_kwargs)
        getattr(self, method_name)(self, **cb_kwargs)
        for cb in self.batch_listeners_[method_name]:
            getattr(cb, method_name)(self, **cb_kwargs)

    def kl_weight(self):
        """beta, ramped linearly from 0 over the first ``kl_warmup`` epochs."""
        if not self.kl_warmup:
            return self.beta
        epoch = len(self.history) if self.history is not None else self.kl_warmup
        return self.beta * min(1.0, epoch / self.kl_warmup)

    def get_loss(self, y_pred, y_true=None, X=None, training=False):
        decoder_out, z_loc, z_logvar = y_pred
        x = X.to(decoder_out.device)
        reconstruction = -self.module_.likelihood.log_prob(x, decoder_out).mean()
        kl_per_dim = gaussian_kl_per_dim(z_loc, z_logvar).mean(dim=0)
        kl = kl_per_dim.sum()
        if self.free_bits:
            kl_objective = kl_per_dim.clamp(min=self.free_bits).sum()
        else:
            kl_objective = kl
        loss = reconstruction + self.kl_weight() * kl_objective
        recon_value, kl_value, loss_value = torch.stack(
            [reconstruction, kl, loss]
        ).tolist()
        if not np.isfinite(loss_value):
            raise DivergenceError(
                f"the loss became {loss_value} in epoch {len(self.history)}"
            )
        prefix = "train" if training else "valid"
        self.history.record_batch(f"{prefix}_reconstruction", recon_value)
        self.history.record_batch(f"{prefix}_kl", kl_value)
        self.history.record_batch(f"{prefix}_elbo", -(recon_value + kl_value))
        return loss


class WarmupEarlyStopping(EarlyStopping):
    """skorch's ``EarlyStopping`` that ignores the KL warm-up epochs.

    While beta is still being ramped up (the net's first ``kl_warmup``
    epochs, counted over all fits), the training loss rises with the KL weight
    and the held-out ELBO belongs to a model of a smaller beta: neither may
    stop training, and no weights from then are kept as the best. Counting
    starts at the first epoch trained with the full beta.
    """

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) < getattr(net, "kl_warmup", 0):
            return
        super().on_epoch_end(net, **kwargs)


class EpochProgressBar(Callback):
    """A tqdm bar over epochs showing the loss, reconstruction and KL."""

    def __init__(self, total):
        self.total = total

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=self.total, unit="epoch", leave=True)

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
