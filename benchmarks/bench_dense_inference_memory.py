"""tracemalloc peak of inference on a 100,000 x 500 dense float32 matrix (190.7 MiB).

Shows that transform, score_samples and inverse_transform allocate no copy of
the input: numpy's peak is the output. torch's own buffers (one batch of
activations at a time) are not seen by tracemalloc.

Usage::

    python benchmarks/bench_dense_inference_memory.py
"""

import tracemalloc
import warnings

import numpy as np
import torch

from skvae import VAETransformer


def main():
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    X = np.random.default_rng(0).standard_normal((100_000, 500)).astype(np.float32)
    vae = VAETransformer(
        n_components=10, hidden_layer_sizes=(128,), max_iter=1, random_state=0
    ).fit(X[:2000])
    Z = vae.transform(X)
    print(f"input {X.nbytes / 2**20:.1f} MiB")
    calls = {
        "transform": lambda: vae.transform(X),
        "score_samples": lambda: vae.score_samples(X),
        "inverse_transform": lambda: vae.inverse_transform(Z),
    }
    for name, call in calls.items():
        tracemalloc.start()
        out = call()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"{name}: output {out.nbytes / 2**20:.1f} MiB, "
            f"tracemalloc peak {peak / 2**20:.1f} MiB"
        )


if __name__ == "__main__":
    main()
