"""
===============================================================
Two-dimensional codes of digits: VAE, PCA and FactorAnalysis
===============================================================

All three models explain the 64 pixels of sklearn's handwritten digits through
two latent variables. :class:`~sklearn.decomposition.PCA` and
:class:`~sklearn.decomposition.FactorAnalysis` map them to pixels linearly;
:class:`skvae.VAETransformer` through a neural network. Plotting the held-out
digits' codes side by side (the posterior means, for the VAE and FA) shows how
much more of the digit identity a nonlinear 2-D code keeps, though none of the
models ever saw a label.

To put a number on it, the script prints the accuracy of a 5-nearest-neighbour
classifier in each 2-D space (trained on the training codes, tested on the
held-out ones), and each model's held-out log-likelihood (the VAE's ELBO, a
lower bound) in nats per image, on dequantized pixels, where it is comparable.
"""

# %%
# Data: 8 x 8 grey images, 0-16, dequantized to (pixel + U(0, 1)) / 17 so
# that no pixel is exactly constant (FactorAnalysis's likelihood is otherwise
# unbounded on the always-blank border pixels); a quarter held out.
import time

import numpy as np
from _figures import QUICK, plt, save, show
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from skvae import VAETransformer

X, y = load_digits(return_X_y=True)
rng = np.random.RandomState(0)
X = (X + rng.uniform(size=X.shape)) / 17.0
if QUICK:
    X, y = X[:300], y[:300]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)

# %%
# Fit the three models on the training images only.
models = {
    "PCA": PCA(n_components=2, random_state=0),
    "FactorAnalysis": FactorAnalysis(n_components=2, random_state=0),
    "VAE": VAETransformer(
        n_components=2,
        max_iter=5 if QUICK else 200,
        early_stopping=True,
        n_iter_no_change=15,
        random_state=0,
    ),
}
codes = {}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train)
    codes[name] = model.transform(X_train), model.transform(X_test)
    knn = KNeighborsClassifier(n_neighbors=5).fit(codes[name][0], y_train)
    accuracy = knn.score(codes[name][1], y_test)
    print(
        f"{name:>14}: held-out log-likelihood {model.score(X_test):6.1f} nats/image, "
        f"5-NN accuracy in 2-D {accuracy:.2f}  ({time.perf_counter() - start:.1f} s)"
    )

vae = models["VAE"]
print(f"VAE: {vae.n_iter_} epochs (early stopping on a 10 % validation split)")

# %%
# Held-out codes, one colour per digit. The VAE's code is the posterior mean
# mu(x); FactorAnalysis's too; PCA's the projection on two components.
fig, axes = plt.subplots(1, 3, figsize=(14, 4.6))
for ax, (name, (_, Z_test)) in zip(axes, codes.items()):
    points = ax.scatter(
        Z_test[:, 0], Z_test[:, 1], c=y_test, cmap="tab10", s=9, vmin=-0.5, vmax=9.5
    )
    for digit in range(10):
        centre = np.median(Z_test[y_test == digit], axis=0)
        ax.annotate(
            str(digit),
            centre,
            fontsize=13,
            weight="bold",
            ha="center",
            va="center",
            bbox={"boxstyle": "circle,pad=0.1", "fc": "white", "alpha": 0.6, "lw": 0},
        )
    ax.set(title=name, xlabel="latent 1", ylabel="latent 2")
fig.colorbar(points, ax=axes, ticks=range(10), label="digit", fraction=0.02)
fig.suptitle("Held-out digits in three 2-D latent spaces (labels only for colour)")
save(fig, "latent_comparison.png")

show()
