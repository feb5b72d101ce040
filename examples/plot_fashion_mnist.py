"""
==============================================================
Fashion-MNIST: prior samples, interpolation and a conv VAE
==============================================================

Fashion-MNIST (Xiao et al. 2017) has 28 x 28 grey images of ten kinds of
clothing. This script fits two VAEs with the same 16-dimensional latent space
and Bernoulli decoder on a subset of it, with its pixels binarized:

* the default :class:`skvae.VAETransformer`, whose encoder and decoder are
  multilayer perceptrons on the 784 pixels;
* a small convolutional VAE, whose encoder and decoder are torch modules
  defined below and passed as classes with keyword arguments (``encoder``,
  ``encoder_kwargs``...). Everything else, ``score``, ``sample``, pickling,
  works unchanged.

It then shows images sampled from the prior N(0, I), a walk through the latent
space between two test images, and reconstructions, and prints each model's
held-out ELBO in nats per image. With 6,000 images and 15 epochs both are far
from converged: the conv VAE, with about a sixth of the weights, reaches about
the same ELBO as the MLP (-143.4 and -145.9 nats per image), and the prior
samples of both are still rough. Train on all 60,000 images for many more
epochs for sharper pictures.

The data come from Debian's ``dataset-fashion-mnist`` package (nothing is
downloaded); without it, the script says how to install it and exits, and the
documentation build leaves this example out (``docs/conf.py``).
"""

# %%
# Data: a subset keeps the script to well under a minute on a CPU.
import sys
import time
import warnings

import numpy as np
from _figures import QUICK, plt, save, show
from sklearn.exceptions import ConvergenceWarning
from torch import nn

from skvae import VAETransformer
from skvae.datasets import has_fashion_mnist, load_fashion_mnist

# A few epochs on purpose: training is cut before convergence.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

if not has_fashion_mnist():
    print(
        "Fashion-MNIST is not installed; on Debian or Ubuntu: "
        "`sudo apt-get install dataset-fashion-mnist` (or set FASHION_MNIST_DIR "
        "to a folder holding its four .gz files). Skipping this example."
    )
    sys.exit(0)

CLASSES = [
    "T-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
]
n_train, n_test, epochs = (500, 200, 1) if QUICK else (6000, 1000, 15)
X_all, y_all = load_fashion_mnist("train")
X_test_all, y_test_all = load_fashion_mnist("test")
rng = np.random.RandomState(0)
train = rng.choice(len(X_all), n_train, replace=False)
# Binarized pixels (as the binarized MNIST of the VAE literature): the
# Bernoulli decoder is then a likelihood and the ELBO a bound in nats. On grey
# pixels it would be a cross-entropy, which VAETransformer warns about.
X_train, y_train = (X_all[train] > 0.5).astype(np.float32), y_all[train]
X_test, y_test = (X_test_all[:n_test] > 0.5).astype(np.float32), y_test_all[:n_test]

# %%
# The convolutional networks. The estimator hands them flat rows of 784
# pixels and expects flat rows back: the encoder reshapes to 1 x 28 x 28 and
# returns ``(z_loc, z_logvar)``; the decoder maps z to 784 Bernoulli logits.
# ``n_components`` is passed in because the constructors ask for it.


class ConvEncoder(nn.Module):
    def __init__(self, n_components, channels=16):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, channels, 4, stride=2, padding=1),  # 28 -> 14
            nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1),  # 14 -> 7
            nn.ReLU(),
            nn.Flatten(),
        )
        self.z_loc = nn.Linear(2 * channels * 7 * 7, n_components)
        self.z_logvar = nn.Linear(2 * channels * 7 * 7, n_components)

    def forward(self, x):
        h = self.body(x.reshape(-1, 1, 28, 28))
        return self.z_loc(h), self.z_logvar(h)


class ConvDecoder(nn.Module):
    def __init__(self, n_components, channels=16):
        super().__init__()
        self.channels = channels
        self.project = nn.Linear(n_components, 2 * channels * 7 * 7)
        self.body = nn.Sequential(
            nn.ReLU(),
            nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1),  # 14
            nn.ReLU(),
            nn.ConvTranspose2d(channels, 1, 4, stride=2, padding=1),  # 28
        )

    def forward(self, z):
        h = self.project(z).reshape(-1, 2 * self.channels, 7, 7)
        return self.body(h).flatten(1)


common = {
    "n_components": 16,
    "likelihood": "bernoulli",
    "max_iter": epochs,
    "learning_rate": 2e-3,
    "random_state": 0,
}
models = {
    "MLP VAE": VAETransformer(**common),
    "conv VAE": VAETransformer(
        encoder=ConvEncoder,
        encoder_kwargs={"channels": 16},
        decoder=ConvDecoder,
        decoder_kwargs={"channels": 16},
        **common,
    ),
}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train)
    n_weights = sum(p.numel() for p in model.net_.module_.parameters())
    print(
        f"{name:>8}: {n_weights:,} weights, {model.n_iter_} epochs in "
        f"{time.perf_counter() - start:.1f} s; held-out ELBO "
        f"{model.score(X_test):.1f} nats/image"
    )

# %%
# 32 images from each model: z ~ N(0, I) through the decoder (its mean, the
# pixel probabilities).
fig, axes = plt.subplots(1, 2, figsize=(11, 5.8))
for ax, (name, model) in zip(axes, models.items()):
    samples = model.sample(32, random_state=0).reshape(4, 8, 28, 28)
    ax.imshow(np.block([list(row) for row in samples]), cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(f"{name}: samples from the prior")
    ax.axis("off")
save(fig, "fashion_samples.png")

# %%
# A straight line in latent space between the codes of two test images
# (a sneaker and an ankle boot, then a trouser and a dress), decoded by each
# model.
pairs = [(7, 9), (1, 3)]
steps = np.linspace(0, 1, 9)
fig, axes = plt.subplots(2 * len(pairs), len(steps) + 2, figsize=(11, 5.4))
for p, (a, b) in enumerate(pairs):
    x_a = X_test[np.flatnonzero(y_test == a)[0]]
    x_b = X_test[np.flatnonzero(y_test == b)[0]]
    for m, (name, model) in enumerate(models.items()):
        row = axes[2 * p + m]
        z_a, z_b = model.transform(np.vstack([x_a, x_b]))
        path = model.inverse_transform(np.outer(1 - steps, z_a) + np.outer(steps, z_b))
        for ax, image in zip(row, [x_a, *path, x_b]):
            ax.imshow(image.reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(name, fontsize=8)
        if m == 0:
            row[0].set_title(CLASSES[a], fontsize=9)
            row[-1].set_title(CLASSES[b], fontsize=9)
            row[len(steps) // 2 + 1].set_title("decoded path", fontsize=9)
fig.suptitle("Latent interpolation between two test images (ends: the originals)")
save(fig, "fashion_interpolation.png")

# %%
# Reconstructions of one held-out image per class, decoded from its 16-number
# code mu(x).
originals = np.stack([X_test[np.flatnonzero(y_test == c)[0]] for c in range(10)])
rows = {"original": originals}
rows.update(
    {
        name: model.inverse_transform(model.transform(originals))
        for name, model in models.items()
    }
)
fig, axes = plt.subplots(3, 10, figsize=(11, 3.8))
for r, (label, images) in enumerate(rows.items()):
    for c in range(10):
        axes[r, c].imshow(images[c].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        axes[r, c].set_xticks([])
        axes[r, c].set_yticks([])
        if r == 0:
            axes[r, c].set_title(CLASSES[c], fontsize=8)
    axes[r, 0].set_ylabel(label, fontsize=8)
fig.suptitle("Held-out images and their reconstructions from 16 latents")
save(fig, "fashion_reconstructions.png")

show()
