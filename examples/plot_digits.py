"""
=====================================================
A VAE on handwritten digits: codes, samples, features
=====================================================

Fit :class:`skvae.VAETransformer` on sklearn's bundled handwritten digits
(1,797 images of 8 x 8 pixels), then look at what it learned:

* the 2-D latent space (the posterior means ``transform`` returns), coloured
  by digit;
* a grid of new digits sampled from the prior N(0, I) through the decoder;
* originals next to their reconstructions ``inverse_transform(transform(X))``;
* the learning curves: the ELBO (higher is better) of the training rows and
  of the held-out rows early stopping watches, per epoch, with the epoch whose
  weights were kept marked.

It also prints the held-out ELBO (nats per image) and the accuracy of a
``LogisticRegression`` on 10 VAE codes beside the same pipeline with PCA.
"""

# %%
# Data: pixel values 0-16, scaled to [0, 1]; a quarter held out.
import time

import numpy as np
from _figures import QUICK, plt, save, show
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skvae import VAETransformer

X, y = load_digits(return_X_y=True)
X = X / 16.0
if QUICK:  # CI smoke run: a few hundred images, a few epochs
    X, y = X[:300], y[:300]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)

# %%
# A 2-D VAE with the default Gaussian decoder.
start = time.perf_counter()
max_iter = 3 if QUICK else 200
vae = VAETransformer(
    n_components=2, early_stopping=True, max_iter=max_iter, random_state=0
)
Z_train = vae.fit_transform(X_train)
print(
    f"2-D VAE: {vae.n_iter_} epochs in {time.perf_counter() - start:.1f} s; "
    f"held-out ELBO {vae.score(X_test):.1f} nats per image "
    f"(train {vae.score(X_train):.1f})"
)

fig, ax = plt.subplots(figsize=(6, 5))
Z_test = vae.transform(X_test)
points = ax.scatter(Z_test[:, 0], Z_test[:, 1], c=y_test, cmap="tab10", s=12)
fig.colorbar(points, ax=ax, label="digit")
ax.set(
    xlabel="z1 (posterior mean)",
    ylabel="z2",
    title="Held-out digits in the VAE's 2-D latent space",
)
save(fig, "digits_latent_space.png")

# %%
# New digits: z ~ N(0, I) through the decoder (its mean image).
samples = vae.sample(64, random_state=0)
fig, axes = plt.subplots(8, 8, figsize=(5, 5))
for ax, image in zip(axes.ravel(), samples):
    ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.axis("off")
fig.suptitle("64 samples from the prior through the decoder")
save(fig, "digits_samples.png")

# %%
# Originals (top) and reconstructions (bottom).
originals = X_test[:10]
reconstructions = vae.inverse_transform(vae.transform(originals))
fig, axes = plt.subplots(2, 10, figsize=(10, 2.3))
for i in range(10):
    axes[0, i].imshow(originals[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    axes[1, i].imshow(reconstructions[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    axes[0, i].axis("off")
    axes[1, i].axis("off")
axes[0, 0].set_title("original", loc="left", fontsize=9)
axes[1, 0].set_title("reconstruction (2-D code)", loc="left", fontsize=9)
save(fig, "digits_reconstructions.png")

# %%
# Learning curves: the ELBO per epoch, higher is better. Training minimizes the
# loss ``loss_curve_``, the negative ELBO (beta = 1), so its ELBO is
# ``-loss_curve_``, averaged over the epoch's minibatches. Early stopping
# watches the held-out rows' ELBO (``validation_scores_``) and keeps the
# weights of its best epoch (``best_validation_score_``): the model after
# ``fit`` is that epoch's, not the last one's.
epochs = np.arange(1, vae.n_iter_ + 1)
held_out = np.asarray(vae.validation_scores_)
best = np.flatnonzero(held_out == vae.best_validation_score_)
kept = int(best[0]) + 1 if best.size else 0  # 0: the starting weights
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(epochs, -np.asarray(vae.loss_curve_), label="training rows")
ax.plot(epochs, held_out, label="held-out rows (early stopping watches)")
ax.axvline(kept, color="0.4", linestyle="--", linewidth=1)
ax.plot(kept, vae.best_validation_score_, "o", color="C1")
ax.annotate(
    f"kept: epoch {kept}",
    (kept, vae.best_validation_score_),
    xytext=(-8, -18),
    textcoords="offset points",
    ha="right",
)
ax.set(
    xlabel="epoch",
    ylabel="ELBO, nats per image (higher is better)",
    title="Training the 2-D VAE",
)
ax.legend(loc="lower right")
save(fig, "digits_loss_curve.png")

# %%
# 10 VAE codes vs 10 principal components as features for a classifier.
for name, reducer in [
    (
        "VAE(10)",
        VAETransformer(
            n_components=10, early_stopping=True, max_iter=max_iter, random_state=0
        ),
    ),
    ("PCA(10)", PCA(n_components=10, random_state=0)),
]:
    pipe = make_pipeline(MinMaxScaler(), reducer, LogisticRegression(max_iter=2000))
    pipe.fit(X_train, y_train)
    accuracy = pipe.score(X_test, y_test)
    print(f"{name} + LogisticRegression: held-out accuracy {accuracy:.3f}")

show()
