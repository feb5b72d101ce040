"""skvae vs the bare PyTorch loop on binarized Fashion-MNIST, over several seeds.

``run.py``'s Fashion-MNIST section compares one skvae fit with the bare loop
started from the same weights (identical by construction) and from one other
seed; the 0.5-nat target of issue 4 needs the spread over seeds. Here skvae
trains with seeds 0..S-1 and the bare loop with independent initializations
(seeds 100..100+S-1, its own batches and noise), the same network and epochs,
and both are scored with the same code (``bare_vae.elbo`` and
``bare_vae.iw_log_likelihood``) on the test set.

    python benchmarks/bench_fmnist_seeds.py [--seeds 3] [--epochs 15]
    python benchmarks/bench_fmnist_seeds.py --quick      # smoke run, seconds

Writes ``results/fmnist_seeds.json``, then ``report.py`` writes
``RESULTS_fmnist_seeds.md`` from it.
"""

import argparse
import warnings

import bare_vae
import numpy as np
import torch
from _common import (
    Measurement,
    add_common_args,
    apply_quick,
    fixed_epochs,
    fmnist_binary,
    log,
    out_dir_of,
    write_reports,
)
from sklearn.exceptions import ConvergenceWarning

# The bare loop's constant step size, given to skvae too (its 5e-3 default
# is warmed up and cut on plateaus, which fixed_epochs turns off).
LEARNING_RATE = 1e-3
PARAMS = {
    "n_components": 20,
    "likelihood": "bernoulli",
    "batch_size": 128,
    "learning_rate": LEARNING_RATE,
}
QUICK = {
    "seeds": 2,
    "epochs": 1,
    "iw_rows": 100,
    "iw_k": 10,
    "n_train": 2000,
    "n_test": 500,
}


def measure(args):
    Xtr, _, Xte, _ = fmnist_binary(args.n_train, args.n_test)
    seeds = {"skvae": list(range(args.seeds)), "bare": []}
    elbo, iw = {"skvae": [], "bare": []}, {"skvae": [], "bare": []}
    for s in seeds["skvae"]:
        est = fixed_epochs(max_iter=args.epochs, random_state=s, **PARAMS).fit(Xtr)
        seeds["bare"].append(100 + s)
        module_bare, seed = bare_vae.reference_model(
            fixed_epochs(max_iter=args.epochs, random_state=100 + s, **PARAMS), Xtr
        )
        bare_vae.train(
            module_bare,
            Xtr,
            epochs=args.epochs,
            batch_size=128,
            lr=LEARNING_RATE,
            seed=seed,
        )
        for name, module in (("skvae", est.net_.module_), ("bare", module_bare)):
            e = float(bare_vae.elbo(module, Xte).mean())
            w = float(
                bare_vae.iw_log_likelihood(
                    module, Xte[: args.iw_rows], n_samples=args.iw_k
                ).mean()
            )
            elbo[name].append(e)
            iw[name].append(w)
            log(f"seed {s} {name:5s}: test ELBO {e:.2f}, IW {w:.2f}")

    def sd(v):
        return float(np.std(v, ddof=1)) if len(v) > 1 else 0.0

    summary = {
        name: {
            "elbo_mean": float(np.mean(elbo[name])),
            "elbo_sd": sd(elbo[name]),
            "iw_mean": float(np.mean(iw[name])),
            "iw_sd": sd(iw[name]),
        }
        for name in ("skvae", "bare")
    }
    summary["diff_elbo"] = summary["skvae"]["elbo_mean"] - summary["bare"]["elbo_mean"]
    summary["diff_iw"] = summary["skvae"]["iw_mean"] - summary["bare"]["iw_mean"]
    return {
        "n_train": len(Xtr),
        "n_test": len(Xte),
        "epochs": args.epochs,
        "iw_rows": min(args.iw_rows, len(Xte)),
        "iw_k": args.iw_k,
        "seeds": seeds,
        "test_elbo": elbo,
        "test_iw": iw,
        "summary": summary,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--iw-rows", type=int, default=2000)
    parser.add_argument("--iw-k", type=int, default=100)
    parser.add_argument("--n-train", type=int, default=None, help="default: 60,000")
    parser.add_argument("--n-test", type=int, default=None, help="default: 10,000")
    add_common_args(parser)
    args = apply_quick(parser.parse_args(argv), parser, QUICK)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)  # fixed epochs on purpose
    config = {k: v for k, v in vars(args).items() if k not in ("out", "note")}
    with Measurement(
        "fmnist_seeds", out_dir=out_dir_of(args), config=config, notes=args.note
    ) as m:
        m.results.update(measure(args))
    write_reports(args)


if __name__ == "__main__":
    main()
