"""
==========================================================
Novelty detection with the ELBO: spotting an unseen digit
==========================================================

A VAE trained on the digits 0-8 only has never seen a 9. Its
:meth:`~skvae.VAETransformer.score_samples`, the ELBO of each image (a lower
bound on its log-likelihood), should be lower for 9s than for held-out 0-8s.
Ranking held-out images by ``-score_samples`` flags the novel class; the ROC
AUC measures how well, beside two standard novelty detectors fitted on the
same images: :class:`~sklearn.ensemble.IsolationForest` and a
:class:`~sklearn.mixture.GaussianMixture` (whose ``score_samples`` is also a
log-likelihood).

A 9 is not a strange image, just an unfamiliar one: it shares strokes with 4,
7 and 8, so no detector separates it perfectly. On 1,200 tiny images a
GaussianMixture with one full-covariance component per class is a strong
baseline (here it beats the VAE); the VAE beats IsolationForest, and unlike
the mixture it also gives codes, reconstructions and samples. Its
:meth:`~skvae.VAETransformer.score_samples_iw`, a tighter bound, ranks about
the same.
"""

# %%
# Data: pixels scaled to [0, 1]. Train on three quarters of the 0-8 images;
# test on the other quarter plus every 9.
import time

import numpy as np
from _figures import QUICK, plt, save, show
from sklearn.datasets import load_digits
from sklearn.ensemble import IsolationForest
from sklearn.metrics import RocCurveDisplay, roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split

from skvae import VAETransformer

X, y = load_digits(return_X_y=True)
X = X / 16.0
if QUICK:
    X, y = X[:400], y[:400]
normal = y != 9
X_train, X_test_normal = train_test_split(X[normal], test_size=0.25, random_state=0)
X_test = np.vstack([X_test_normal, X[~normal]])
is_novel = np.r_[np.zeros(len(X_test_normal)), np.ones((~normal).sum())]
print(
    f"train: {len(X_train)} images of 0-8; test: {len(X_test_normal)} of 0-8 "
    f"and {int(is_novel.sum())} nines"
)

# %%
# Three detectors. Each ``score_samples`` is higher for more typical images,
# so the novelty score is its negative.
detectors = {
    "VAE (ELBO)": VAETransformer(
        n_components=8,
        max_iter=3 if QUICK else 200,
        early_stopping=True,
        random_state=0,
    ),
    "GaussianMixture": GaussianMixture(
        n_components=9, covariance_type="full", reg_covar=1e-2, random_state=0
    ),
    "IsolationForest": IsolationForest(n_estimators=200, random_state=0),
}
novelty = {}
for name, detector in detectors.items():
    start = time.perf_counter()
    detector.fit(X_train)
    novelty[name] = -detector.score_samples(X_test)
    print(
        f"{name:>16}: ROC AUC {roc_auc_score(is_novel, novelty[name]):.3f}  "
        f"({time.perf_counter() - start:.1f} s)"
    )

# %%
# ROC curves (left) and the held-out images the VAE finds least likely
# (right): mostly 9s, plus odd-looking 0-8s.
fig = plt.figure(figsize=(11, 4.6))
ax = fig.add_subplot(1, 2, 1)
for name, score in novelty.items():
    RocCurveDisplay.from_predictions(
        is_novel, score, name=name, ax=ax, plot_chance_level=name.startswith("VAE")
    )
ax.set(
    title="Flagging 9s after training on 0-8",
    xlabel="false positive rate (0-8 flagged)",
    ylabel="true positive rate (9s flagged)",
)
ax.legend(fontsize=8, loc="lower right")

order = np.argsort(-novelty["VAE (ELBO)"])[:15]
grid = fig.add_gridspec(3, 10, left=0.56, right=0.98, top=0.86, bottom=0.12)
for k, i in enumerate(order):
    sub = fig.add_subplot(grid[k // 5, 2 * (k % 5) : 2 * (k % 5) + 2])
    sub.imshow(X_test[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    sub.set_title(
        "a 9" if is_novel[i] else "0-8",
        fontsize=8,
        color="tab:red" if is_novel[i] else "black",
    )
    sub.axis("off")
fig.text(
    0.77, 0.93, "15 least likely test images under the VAE", ha="center", fontsize=11
)
save(fig, "anomaly_detection.png")

show()
