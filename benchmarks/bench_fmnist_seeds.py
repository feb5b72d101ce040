"""skvae vs the bare PyTorch loop on binarized Fashion-MNIST, over several seeds.

``run.py``'s Fashion-MNIST section compares one skvae fit with the bare loop
started from the same weights (identical by construction) and from one other
seed; the 0.5-nat target of issue 4 needs the spread over seeds. Here skvae
trains with seeds 0..S-1 and the bare loop with independent initializations
(seeds 100..100+S-1, its own batches and noise), the same network and epochs,
and both are scored with the same code (``bare_vae.elbo`` and
``bare_vae.iw_log_likelihood``) on the test set.

    python benchmarks/bench_fmnist_seeds.py [--seeds 3] [--epochs 15]

Writes benchmarks/RESULTS_fmnist_seeds.md.
"""

import argparse
import time
import warnings
from pathlib import Path

import bare_vae
import numpy as np
import torch
from run import fixed_epochs, fmnist_binary
from sklearn.exceptions import ConvergenceWarning

PARAMS = {"n_components": 20, "likelihood": "bernoulli", "batch_size": 128}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--iw-rows", type=int, default=2000)
    parser.add_argument("--iw-k", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)  # fixed epochs on purpose
    Xtr, _, Xte, _ = fmnist_binary()
    rows = {"skvae": [], "bare": []}
    start = time.perf_counter()
    for s in range(args.seeds):
        est = fixed_epochs(max_iter=args.epochs, random_state=s, **PARAMS).fit(Xtr)
        module_bare, seed = bare_vae.reference_model(
            fixed_epochs(max_iter=args.epochs, random_state=100 + s, **PARAMS), Xtr
        )
        bare_vae.train(
            module_bare, Xtr, epochs=args.epochs, batch_size=128, lr=1e-3, seed=seed
        )
        for name, module in (("skvae", est.net_.module_), ("bare", module_bare)):
            elbo = float(bare_vae.elbo(module, Xte).mean())
            iw = float(
                bare_vae.iw_log_likelihood(
                    module, Xte[: args.iw_rows], n_samples=args.iw_k
                ).mean()
            )
            rows[name].append((elbo, iw))
            print(f"seed {s} {name:5s}: test ELBO {elbo:.2f}, IW {iw:.2f}", flush=True)
    minutes = (time.perf_counter() - start) / 60
    lines = [
        "# Binarized Fashion-MNIST: skvae vs the bare loop over seeds",
        "",
        f"`python benchmarks/bench_fmnist_seeds.py --seeds {args.seeds} --epochs "
        f"{args.epochs}` ({minutes:.1f} min, 1 torch thread). 60,000 training and "
        "10,000 test images, pixels > 0.5, `VAETransformer(n_components=20, "
        f"likelihood='bernoulli', batch_size=128, max_iter={args.epochs})` "
        "(default networks, lr 1e-3) with seeds "
        f"0-{args.seeds - 1}; the bare loop (`bare_vae.py`) on the same networks "
        f"from independent initializations (seeds 100-{99 + args.seeds}). Both "
        "scored by the same code: test ELBO (16 draws) on all 10,000 test images, "
        f"importance-weighted log-likelihood (K={args.iw_k}) on the first "
        f"{args.iw_rows}. Nats per image.",
        "",
        "| model | test ELBO per seed | mean | sd | IW per seed | mean | sd |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, values in rows.items():
        e, w = np.array(values).T
        lines.append(
            f"| {name} | {', '.join(f'{v:.2f}' for v in e)} | {e.mean():.2f} | "
            f"{e.std(ddof=1) if len(e) > 1 else 0:.2f} | "
            f"{', '.join(f'{v:.2f}' for v in w)} | {w.mean():.2f} | "
            f"{w.std(ddof=1) if len(w) > 1 else 0:.2f} |"
        )
    diff_e = np.mean([v[0] for v in rows["skvae"]]) - np.mean(
        [v[0] for v in rows["bare"]]
    )
    diff_w = np.mean([v[1] for v in rows["skvae"]]) - np.mean(
        [v[1] for v in rows["bare"]]
    )
    lines += [
        "",
        f"skvae minus bare, means: ELBO {diff_e:+.2f} nats, IW {diff_w:+.2f} nats "
        "(target: within 0.5).",
        "",
    ]
    out = Path(__file__).with_name("RESULTS_fmnist_seeds.md")
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
