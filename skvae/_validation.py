"""sklearn imports (private ones included) and input, seed and dtype helpers.

The only module that imports sklearn's private API, so that a change there is
mended in one place.
"""

import contextlib
import os
import sys

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import _fit_context  # noqa: F401  (re-exported)
from sklearn.utils import check_random_state  # noqa: F401
from sklearn.utils._param_validation import (  # noqa: F401
    Interval,
    StrOptions,
)
from sklearn.utils.validation import (  # noqa: F401
    check_is_fitted,
    validate_data,
)

FLOAT_DTYPES = (np.float64, np.float32)
SPARSE_FORMATS = ("csr", "csc")


def check_unit_interval(X, *, method):
    """Raise ``ValueError`` unless every value of X lies in [0, 1].

    Used for the Bernoulli likelihood (AEVB appendix C.1), whose data must be
    probabilities. X is dense or sparse and is not modified.
    """
    values = X.data if sp.issparse(X) else X
    if values.size and (values.min() < 0 or values.max() > 1):
        raise ValueError(
            f"likelihood='bernoulli' needs X in [0, 1] in {method}, but X "
            f"ranges over [{values.min():.4g}, {values.max():.4g}]. Scale it "
            "(e.g. MinMaxScaler(clip=True)) or use likelihood='gaussian'."
        )


def clip_unit_interval(X):
    """X clipped to [0, 1] (a copy where anything changes) and how many values moved."""
    values = X.data if sp.issparse(X) else X
    n_out = int(np.count_nonzero((values < 0) | (values > 1)))
    if not n_out:
        return X, 0
    X = X.copy()
    if sp.issparse(X):
        np.clip(X.data, 0, 1, out=X.data)
    else:
        np.clip(X, 0, 1, out=X)
    return X, n_out


def draw_seed(random_state):
    """One int seed for torch from a ``random_state`` (int, RandomState or None)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def resolve_device(device):
    """``'auto'`` -> ``'cuda'`` when a GPU is available else ``'cpu'``."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be 'cpu', 'cuda', 'cuda:<index>' or 'auto', got {device!r}."
        ) from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r}, but torch sees no CUDA GPU here (torch "
            f"{torch.__version__}, CUDA build: {torch.version.cuda or 'no'}). Use "
            "device='auto' to take a GPU only where there is one, or 'cpu'."
        )
    return device


def worker_thread_limit():
    """Threads torch may use for one fit or inference call here, or None.

    Measured with joblib 1.6, distributed 2026.8 and torch 2.13 (OpenMP):

    - joblib's loky workers (``GridSearchCV(n_jobs=k)``) start with
      ``OMP_NUM_THREADS = cpu_count // k`` and their thread pools already
      limited; torch honours that at import, so nothing is left to do.
    - Dask worker *processes* (``LocalCluster(processes=True)``, ``dask
      worker`` under a nanny) start with ``OMP_NUM_THREADS=1``: likewise.
    - Dask worker *threads* (``LocalCluster(processes=False)``) run inside the
      client's process, where no such variable is set: each concurrent fit
      would use all the cores. Dask sizes its threads to the cores, so a task
      in a Dask worker thread gets one torch thread.

    ``OMP_NUM_THREADS``, when set, wins; it is read again here for processes
    that imported torch before setting it. Returns None where no limit applies.
    """
    value = os.environ.get("OMP_NUM_THREADS")
    if value and value.isdigit() and int(value) > 0:
        return int(value)
    if _in_dask_worker():
        return 1
    return None


def _in_dask_worker():
    """True inside a task run by a ``dask.distributed`` worker (never imports dask)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        distributed.get_worker()
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def limited_torch_threads():
    """Scope torch's intra-op threads to :func:`worker_thread_limit`, then restore."""
    limit = worker_thread_limit()
    before = torch.get_num_threads()
    if limit is None or limit >= before:
        yield
        return
    torch.set_num_threads(limit)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def as_tensor(array, dtype, device="cpu"):
    """A torch tensor of a dense numpy array, sharing memory where it can.

    Read-only arrays (joblib memmaps, ``setflags(write=False)``) are copied, as
    torch cannot wrap them.
    """
    array = np.asarray(array, dtype=dtype)
    if not array.flags.writeable or not array.flags.c_contiguous:
        array = np.array(array, dtype=dtype, order="C")
    return torch.from_numpy(array).to(device)
