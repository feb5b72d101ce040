"""Where and how torch runs: devices, worker threads, tensors from numpy arrays."""

import contextlib
import os
import threading

import numpy as np
import scipy.sparse as sp
import torch
from threadpoolctl import threadpool_limits

# Upper bound on the elements of one inference batch (rows x samples x features).
INFERENCE_BATCH_ELEMENTS = 2**20


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
    """Threads torch may use for one fit or inference call, or None (torch's own).

    skvae's networks are small: one training step of the default networks
    costs about a millisecond, which intra-op threads do not shorten, and
    when another process keeps a core busy, torch's default of one thread per
    core made such steps 10-30 times slower (threads waiting at OpenMP
    barriers for a core). So a fit or inference call runs on **one thread**
    unless told otherwise, in this order:

    - ``SKVAE_NUM_THREADS``: a positive number of threads, or ``"torch"`` for
      torch's own setting (``torch.set_num_threads``), e.g. for wide networks
      on a machine of its own;
    - ``OMP_NUM_THREADS``, when set (joblib's loky workers, those of
      ``GridSearchCV(n_jobs=k)``, get ``cpu_count // k``; Dask worker
      processes get 1); read here, for processes that set it after importing
      torch;
    - otherwise 1, also in Dask worker threads, which share one process.

    Never more than torch's own setting: the limit only lowers it.
    """
    value = os.environ.get("SKVAE_NUM_THREADS", "").strip()
    if value:
        if value.lower() == "torch":
            return None
        if value.isdigit() and int(value) > 0:
            return int(value)
        raise ValueError(
            f"SKVAE_NUM_THREADS must be a positive integer or 'torch', got {value!r}."
        )
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return 1


def blas_thread_limit():
    """Threads numpy's BLAS may use in a fit (the factor-analysis start):
    :func:`worker_thread_limit`, never more than torch's own setting.

    The start runs before the training loop's scope, where torch's setting
    is still the process's (one thread per core): with a core busy, an
    OpenBLAS of two threads made breast_cancer's factor analysis (k=8) take
    8 CPU seconds instead of 0.09.
    """
    limit = worker_thread_limit()
    threads = torch.get_num_threads()
    return threads if limit is None else min(limit, threads)


def limited_blas_threads():
    """threadpoolctl's scope of numpy's BLAS to :func:`blas_thread_limit`
    threads, for the numpy and scikit-learn work of a fit (the
    factor-analysis start, the outlier detector's GaussianMixture)."""
    return threadpool_limits(limits=blas_thread_limit(), user_api="blas")


class _ThreadScope:
    """Who limits torch's threads now: the first scope in saves the caller's
    setting, the last one out puts it back (scopes overlap in threads)."""

    lock = threading.Lock()
    active = 0
    saved = None


@contextlib.contextmanager
def limited_torch_threads():
    """Scope torch's intra-op threads to :func:`worker_thread_limit`, then restore.

    Safe in concurrent threads (Dask worker threads share one process and one
    torch setting): the limit holds until the last overlapping scope ends, so
    no fit sees the count change under it.
    """
    limit = worker_thread_limit()
    if limit is None:
        yield
        return
    with _ThreadScope.lock:
        if _ThreadScope.active == 0:
            _ThreadScope.saved = torch.get_num_threads()
        _ThreadScope.active += 1
        if torch.get_num_threads() > limit:
            torch.set_num_threads(limit)
    try:
        yield
    finally:
        with _ThreadScope.lock:
            _ThreadScope.active -= 1
            if _ThreadScope.active == 0:
                if torch.get_num_threads() != _ThreadScope.saved:
                    torch.set_num_threads(_ThreadScope.saved)


def torch_dtype(dtype):
    """The torch dtype of inference for a numpy dtype: float64 or float32."""
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


def module_dtype(module):
    """The floating dtype of a module's parameters."""
    return next(module.parameters()).dtype


def as_tensor(array, dtype, device="cpu"):
    """A torch tensor of a dense numpy array, sharing memory where it can.

    Read-only arrays (joblib memmaps, ``setflags(write=False)``) are copied, as
    torch cannot wrap them.
    """
    array = np.asarray(array, dtype=dtype)
    if not array.flags.writeable or not array.flags.c_contiguous:
        array = np.array(array, dtype=dtype, order="C")
    return torch.from_numpy(array).to(device)


def map_rows(X, fn, width, device="cpu", offset=None):
    """Apply ``fn`` to batches of rows of X (dense or CSR) and stack the results.

    ``fn(x, rows)`` takes the batch as a tensor in X's dtype on ``device``,
    centred by ``offset`` (subtracted in float64), and as the dense numpy rows
    (data units); it returns a tensor or a tuple of tensors (then so does
    this), one value or one row per row. ``width`` is the number of values
    per row ``fn`` handles at once; each batch holds at most
    ``INFERENCE_BATCH_ELEMENTS`` of them, and of the densified input values
    (a sparse batch is as wide as X), so peak memory stays near input plus
    output size. Runs without gradients, in worker threads' limits
    (:func:`limited_torch_threads`).
    """
    dtype = np.dtype(X.dtype)
    width = max(1, width, X.shape[1])
    step = max(1, min(4096, INFERENCE_BATCH_ELEMENTS // width))
    out = []
    with torch.no_grad(), limited_torch_threads():
        for start in range(0, X.shape[0], step):
            rows = X[start : start + step]
            if sp.issparse(rows):
                rows = rows.toarray()
            x = rows if offset is None else (rows - offset).astype(dtype)
            result = fn(as_tensor(x, dtype, device), rows)
            if isinstance(result, torch.Tensor):
                result = (result,)
            out.append([r.cpu().numpy() for r in result])
    stacked = tuple(
        np.concatenate(parts).astype(dtype, copy=False) for parts in zip(*out)
    )
    return stacked[0] if len(stacked) == 1 else stacked
