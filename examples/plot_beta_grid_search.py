"""
=========================================================
Choosing n_components and beta by held-out ELBO
=========================================================

:meth:`skvae.VAETransformer.score` is the mean ELBO (a lower bound on the
log-likelihood, in nats per image) whatever ``beta`` the model was trained
with, so an unsupervised :class:`~sklearn.model_selection.GridSearchCV` with no
``scoring`` compares models of different latent sizes and KL weights directly
by how well they explain held-out images.

The second figure shows what ``beta`` trades (Higgins et al. 2017, the
beta-VAE): the KL term is the number of nats the code carries about each image
(the *rate*), the reconstruction term the nats still needed to describe the
image given its code (the *distortion*). A larger beta buys a cheaper code with
worse reconstructions; beta = 1 is the ELBO's own balance, so it usually scores
best.
"""

# %%
# Dequantized digits, (pixel + U(0, 1)) / 17, so that the Gaussian
# likelihood is a density on every pixel; a quarter held out for the second
# part. Short trainings keep the script quick: they end before convergence,
# which VAETransformer says with a ConvergenceWarning, silenced here.
import time
import warnings

import numpy as np
from _figures import QUICK, plt, save, show
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split

from skvae import VAETransformer

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, _ = load_digits(return_X_y=True)
X = (X + np.random.RandomState(0).uniform(size=X.shape)) / 17.0
if QUICK:
    X = X[:200]
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)

vae = VAETransformer(
    hidden_layer_sizes=(128, 128),
    batch_size=64,
    learning_rate=2e-3,
    max_iter=2 if QUICK else 100,
    early_stopping=True,
    n_iter_no_change=5,
    random_state=0,
)

# %%
# Grid search over the latent size and the KL weight, 2-fold, scored by the
# held-out ELBO (the estimator's own ``score``).
n_components_grid = [1, 2] if QUICK else [2, 5, 10]
beta_grid = [0.5, 1.0] if QUICK else [0.5, 1.0, 2.0]
start = time.perf_counter()
grid = GridSearchCV(
    vae, {"n_components": n_components_grid, "beta": beta_grid}, cv=2
).fit(X_train)
print(
    f"{len(grid.cv_results_['params'])} candidates x {grid.n_splits_} folds in "
    f"{time.perf_counter() - start:.1f} s; best {grid.best_params_}, "
    f"held-out ELBO {grid.best_score_:.1f} nats/image"
)

# One cell per (n_components, beta), read from cv_results_ by parameter value.
scores = np.empty((len(n_components_grid), len(beta_grid)))
for params, score in zip(
    grid.cv_results_["params"], grid.cv_results_["mean_test_score"]
):
    i = n_components_grid.index(params["n_components"])
    scores[i, beta_grid.index(params["beta"])] = score

fig, ax = plt.subplots(figsize=(6, 3.8))
image = ax.imshow(scores, cmap="viridis", aspect="auto", origin="lower")
for i in range(len(n_components_grid)):
    for j in range(len(beta_grid)):
        best = scores[i, j] == scores.max()
        ax.text(
            j,
            i,
            f"{scores[i, j]:.1f}" + (" (best)" if best else ""),
            ha="center",
            va="center",
            color="black" if scores[i, j] > np.median(scores) else "white",
            weight="bold" if best else "normal",
        )
ax.set_xticks(range(len(beta_grid)), [f"{b:g}" for b in beta_grid])
ax.set_yticks(range(len(n_components_grid)), n_components_grid)
ax.set(
    xlabel="beta (KL weight in training)",
    ylabel="n_components",
    title="GridSearchCV: mean held-out ELBO\n(nats per image, higher is better)",
)
fig.colorbar(image, ax=ax, label="nats per image")
save(fig, "beta_grid_search.png")

# %%
# The rate/distortion trade-off as beta grows, at a fixed latent size, on the
# held-out quarter: :meth:`~skvae.VAETransformer.elbo_terms` splits each
# image's ELBO into the reconstruction term E_q[log p(x|z)] and the KL (closed
# form, from the encoder's outputs mu and log sigma^2).

n_components = max(n_components_grid)
betas = beta_grid if QUICK else [0.25, 0.5, 1.0, 2.0, 4.0]
reconstruction, rate, elbo = [], [], []
for beta in betas:
    model = VAETransformer(
        **{**vae.get_params(), "n_components": n_components, "beta": beta}
    ).fit(X_train)
    log_px, kl = (terms.mean() for terms in model.elbo_terms(X_test))
    score = log_px - kl
    reconstruction.append(log_px)
    rate.append(kl)
    elbo.append(score)
    print(
        f"beta={beta:<5g} held-out ELBO {score:5.1f} = E log p(x|z) "
        f"{log_px:5.1f} - KL {kl:4.1f}  (nats/image, {model.n_iter_} epochs)"
    )

fig, ax = plt.subplots(figsize=(6.5, 4))
ax.plot(
    betas, reconstruction, "o-", color="tab:red", label="reconstruction E log p(x|z)"
)
ax.plot(betas, elbo, "o-", color="black", label="ELBO = reconstruction - KL")
ax.plot(betas, rate, "s--", color="tab:blue", label="KL(q(z|x) || p(z)), the rate")
ax.axvline(1.0, color="grey", lw=0.8, ls=":")
ax.set_xscale("log")
ax.minorticks_off()
ax.set_xticks(betas, [f"{b:g}" for b in betas])
ax.set(
    xlabel="beta (KL weight in training)",
    ylabel="nats per image",
    title=f"What beta trades: {n_components} latents, held-out digits",
)
ax.legend(fontsize=8, loc="center left")
save(fig, "beta_tradeoff.png")

# %%
# At a still larger beta the KL term wins outright: the codes stop carrying
# anything (KL = 0, *posterior collapse*) and the decoder outputs the mean
# image. ``kl_warmup`` and ``free_bits`` are the usual remedies.

show()
