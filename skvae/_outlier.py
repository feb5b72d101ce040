"""VAEOutlierDetector: a VAE's likelihood as a scikit-learn novelty detector."""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples

from skvae._base import (
    AUTO_HIDDEN_SMALL,
    ITER_MIN_STEPS,
    MIN_VALIDATION_ROWS,
    N_ELBO_SAMPLES,
)
from skvae._net import BatchIterator, VAENet
from skvae._owned import OwnedVAEMixin, mirrored_constraints
from skvae._runtime import limited_blas_threads
from skvae._tabular import _column_values, table_library
from skvae._transformer import VAETransformer
from skvae._validation import (
    FLOAT_DTYPES,
    SPARSE_FORMATS,
    Interval,
    RealNotInt,
    StrOptions,
    _fit_context,
    check_is_fitted,
    check_random_state,
    draw_seed,
    validate_data,
)

# The detector's own parameters; every other one is a VAETransformer parameter,
# passed on to the VAE it builds in fit.
_OWN_PARAMS = (
    "score_type",
    "prior",
    "n_iw_samples",
    "contamination",
    "max_samples",
    "trim_fraction",
    "n_estimators",
)

# Tukey's fences (Tukey 1977): 'auto' puts the threshold this many
# interquartile ranges below the first quartile of the held-out rows' scores
# (of the training rows' when fewer than MIN_VALIDATION_ROWS were held out).
TUKEY_K = 1.5

# The ex-post prior: a GaussianMixture (full covariances, this many
# components at most, chosen by BIC) fitted to PRIOR_DRAWS draws of z from
# q(z|x) for each row the VAE trained on.
PRIOR_SIZES = (1, 2, 4, 8, 16)
PRIOR_DRAWS = 4
# The sizes are tried in increasing order until PRIOR_PATIENCE of them in a
# row score a worse BIC than the best so far: the larger mixtures cost most of
# the fit's prior, and on 10 ADBench tables the BIC rose past its minimum
# without dipping again (the choice was the same as trying every size).
PRIOR_PATIENCE = 2


# max_samples='auto': each fit trains on at most this many rows, drawn at
# random (benchmarks/RESULTS_outlier.md, ADBench family). An iteration makes
# 16 Adam steps on 512 rows as on 1024 (4 epochs or 2): twice the rows cost
# no more steps.
AUTO_MAX_SAMPLES = 1024

# max_iter='auto': the detector's budget of training iterations (at least
# 16 Adam steps each); VAETransformer's 'auto' is 200. On ADBench the
# Student-t VAE ranked rows as well at 30 as at 200, for half the cost.
AUTO_MAX_ITER = 30
# ... and of epochs (passes over the rows it trains on): 30 iterations are
# 60 epochs of a 1024-row sample, but up to 480 of a table of under 128 rows,
# whose VAE then learns its training anomalies (benchmarks/RESULTS_outlier.md,
# ADBench family: the small tables ranked better at 120).
AUTO_MAX_EPOCHS = 120


def _auto_max_iter(vae, n_rows):
    """``max_iter='auto'`` of a fit of ``vae`` (a VAETransformer whose
    ``early_stopping`` is resolved) to ``n_rows`` rows: ``AUTO_MAX_ITER``
    iterations, fewer where they would make more than ``AUTO_MAX_EPOCHS``
    epochs (an iteration is as many epochs as make ``ITER_MIN_STEPS`` Adam
    steps, as in VAETransformer)."""
    early = vae.early_stopping is True or (
        vae.early_stopping == "auto" and vae._early_stopping(n_rows, "fit")
    )
    n_valid = vae._n_validation_rows(n_rows) if early else 0
    n_train = max(1, n_rows - n_valid)
    steps = -(-n_train // min(vae.batch_size, n_train))
    epochs_per_iter = max(1, -(-ITER_MIN_STEPS // steps))
    return min(AUTO_MAX_ITER, max(1, AUTO_MAX_EPOCHS // epochs_per_iter))


def _tukey_fence(scores):
    """Tukey's lower fence ``Q1 - TUKEY_K (Q3 - Q1)`` of ``scores`` (Tukey
    1977), a float: the ``contamination='auto'`` offset."""
    q1, q3 = np.percentile(scores, [25.0, 75.0])
    return float(q1 - TUKEY_K * (q3 - q1))


# Training that resists contaminated rows (trim_fraction): each minibatch's
# loss leaves out its rows with the lowest ELBO (a fraction of them, or with
# 'auto' those below the lower Tukey fence of the batch's ELBOs), early
# stopping watches the held-out rows' ELBO trimmed alike, and the ex-post
# prior is fitted to the training rows the same rule keeps.
def _kept_rows(scores, trim):
    """Indices of the rows of ``scores`` (a 1-d tensor, higher = more normal)
    that a trimmed likelihood keeps, or None for all of them.

    ``trim`` a float: all but the fraction ``trim`` with the lowest scores.
    ``'auto'``: those at or above Tukey's lower fence ``Q1 - 1.5 IQR`` of the
    scores. A row whose score is not finite is the first to leave.
    """
    if not trim:
        return None
    scores = torch.nan_to_num(scores.detach(), nan=-torch.inf)
    n = scores.shape[0]
    finite = torch.isfinite(scores)
    if trim == "auto":
        if int(finite.sum()) < 4:
            return None
        q = torch.tensor([0.25, 0.75], dtype=scores.dtype)
        q1, q3 = torch.quantile(scores[finite], q)
        keep = finite & (scores >= q1 - TUKEY_K * (q3 - q1))
        if bool(keep.all()):
            return None
        return torch.nonzero(keep).flatten()
    keep = max(1, n - int(round(trim * n)))
    if keep == n and bool(finite.all()):
        return None
    return torch.topk(scores, keep).indices


class _TrimmedVAENet(VAENet):
    """VAENet whose training loss leaves out of each minibatch its rows with
    the lowest ELBO (``trim``: a fraction, or 'auto', see ``_kept_rows``),
    a trimmed likelihood, and whose held-out score leaves out each batch's
    alike."""

    trim = 0.0

    def get_loss(self, y_pred, y_true=None, X=None, training=False):
        log_px, kl_per_dim, ratio = y_pred
        if training and self.trim and ratio is None:
            elbo = log_px.mean(dim=0) - kl_per_dim.sum(dim=1)
            rows = _kept_rows(elbo, self.trim)
            if rows is not None:
                y_pred = (log_px[:, rows], kl_per_dim[rows], None)
        return super().get_loss(y_pred, y_true, X, training)

    def _held_out_terms(self, x, keys):
        terms = super()._held_out_terms(x, keys)
        rows = _kept_rows(terms[2], self.trim)
        return terms if rows is None else tuple(t[rows] for t in terms)

    def held_out_score(self, dataset, key="valid_elbo"):
        self._set_training(False)
        total, n = 0.0, 0
        index = 3 if key == "valid_iw" else 2
        with torch.no_grad():
            for x, keys in BatchIterator(dataset, self.batch_size):
                kept = self._held_out_terms(x, keys)[index]
                total += float(kept.sum())
                n += len(kept)
        return total / n


class _DetectorVAE(VAETransformer):
    """The detector's VAE: a VAETransformer that trains on a trimmed ELBO,
    leaving out of each minibatch its fraction ``_trim`` of rows with the
    lowest ELBO (none when 0)."""

    _trim = 0.0

    def _new_net(self, *args, **kwargs):
        net = super()._new_net(*args, **kwargs)
        net.__class__ = _TrimmedVAENet
        net.trim = self._trim
        return net

    def fit(self, X, y=None):
        # a warm start continues the same net: it trims at the current rate
        if self.warm_start and isinstance(getattr(self, "net_", None), _TrimmedVAENet):
            self.net_.trim = self._trim
        return super().fit(X, y)


class VAEOutlierDetector(OwnedVAEMixin, OutlierMixin, BaseEstimator):
    """Novelty detection with a Variational Autoencoder's likelihood.

    Fits a :class:`~skvae.VAETransformer` to data that are (mostly) normal and
    flags the rows that the model finds unlikely. The score of a row is an
    estimate of its log-likelihood under the VAE (or of its reconstruction
    term), in nats: higher is more normal. The detector follows the contract
    of :class:`~sklearn.ensemble.IsolationForest` and
    :class:`~sklearn.neighbors.LocalOutlierFactor` with ``novelty=True``:
    :meth:`score_samples`, :meth:`decision_function` ``= score_samples -
    offset_``, :meth:`predict` (+1 inlier, -1 outlier) and :meth:`fit_predict`.

    The VAE's hyperparameters are the detector's own parameters, under the
    same names and meanings as in :class:`~skvae.VAETransformer`, so that
    :class:`~sklearn.model_selection.GridSearchCV` tunes them directly
    (``{"n_components": [4, 16]}``). Five settings differ, chosen for
    detection (see Notes).

    Read more in the :ref:`User Guide <outlier_detection>`.

    Parameters
    ----------
    n_components : int, default=16
        Number of latent dimensions (VAETransformer's default is 2, for
        pictures; a detector needs a model of the data more than a code to
        look at: ``benchmarks/RESULTS_outlier.md`` compares them).

    score_type : {'elbo', 'iw', 'reconstruction_probability'}, default='elbo'
        What :meth:`score_samples` returns, per row, in nats:

        - ``'elbo'``: the evidence lower bound ``E_q[log p(x|z)] - KL(q(z|x)
          || p(z))`` (Kingma & Welling 2014, eq. 3 and appendix B), from
          :meth:`VAETransformer.score_samples`, a lower bound on log p(x).
        - ``'iw'``: the importance-weighted estimate of log p(x) with
          ``n_iw_samples`` draws (Burda et al. 2016, eq. 8), from
          :meth:`VAETransformer.score_samples_iw`; tighter than the ELBO and
          ``n_iw_samples / 16`` times its cost.
        - ``'reconstruction_probability'``: the reconstruction probability of
          An & Cho (2015), the Monte Carlo estimate of ``E_{z~q(z|x)}[log p(x|z)]``,
          i.e. the ELBO without its KL term.

    prior : {'aggregate', 'standard_normal'}, default='aggregate'
        The density of z in the ``'elbo'`` and ``'iw'`` scores:

        - ``'aggregate'``: a :class:`~sklearn.mixture.GaussianMixture`
          (:attr:`prior_`; full covariances, 1, 2, 4, 8 or 16 components
          chosen by BIC, the sizes tried in increasing order until two in a
          row score worse than the best)
          fitted after training to draws from the aggregate posterior
          ``q(z) = mean_i q(z|x_i)`` of the rows the VAE trained on: the
          prior that maximizes their ELBO (Hoffman & Johnson 2016), estimated
          ex post (Ghosh et al. 2020). A row whose code falls between the
          training rows' codes scores low, which N(0, I) does not see.
        - ``'standard_normal'``: the VAE's own prior N(0, I), as
          :meth:`VAETransformer.score_samples`; a cheaper fit.

        ``'reconstruction_probability'`` has no prior term.

    n_iw_samples : int, default=100
        Draws of z per row for ``score_type='iw'``; ignored otherwise.

    contamination : 'auto' or float, default='auto'
        Where :attr:`offset_` is put. A float in (0, 0.5] is the expected
        fraction of outliers in the training data: the offset is that
        quantile of the scores of the training rows (those some member
        trained on), so that fraction of them is flagged (as in
        IsolationForest). ``'auto'`` uses Tukey's lower
        fence ``Q1 - 1.5 (Q3 - Q1)`` of the scores of early stopping's
        held-out rows, which the VAE never trained on (of the training rows
        when there are fewer than 10: no early stopping, a small
        ``validation_fraction``, or a continued ``warm_start`` fit): a
        row is flagged when its log-likelihood is unusually low compared with
        the spread of the log-likelihoods of new normal rows, whatever their
        scale (see Notes). With several members, the fence is that of the
        detector's own score (the members' mean) on the rows held out of
        some member's training, pooled: an average of scores spreads less
        than one member's, and the members' own fences would flag almost
        nothing.

    max_samples : 'auto', int or float, default='auto'
        Rows the VAE trains on, drawn at random without replacement from
        the rows passed to :meth:`fit` (all of them when there are fewer),
        as IsolationForest's ``max_samples`` (Liu et al. 2008, section 3):
        an int is a number of rows (at least 2), a float in (0, 1] a
        fraction of them, ``'auto'`` ``min(1024, n_samples)``. A small sample
        bounds the cost of a fit whatever the table's size, and holds too few
        rows of a small cluster of anomalies for the VAE to learn it as
        normal; every row is still scored. Use 1.0 to train on every row,
        which a detector fitted on clean, varied data (images) may need
        (``benchmarks/RESULTS_outlier.md``).

    trim_fraction : 'auto' or float in [0, 0.5), default=0.1
        Training that resists anomalies among the training rows, a trimmed
        likelihood (Neykov et al. 2007; the least trimmed squares idea of
        Rousseeuw 1984): each minibatch's loss leaves out its rows with the
        lowest ELBO, so that the VAE does not learn to model the rows it
        finds least likely. A float leaves out that fraction of each
        minibatch (rounded to whole rows: 13 of a minibatch of 128 at the
        default 0.1), whatever the data; ``'auto'`` the rows below Tukey's
        lower fence ``Q1 - 1.5 IQR`` of the minibatch's ELBOs (the fence of
        ``contamination='auto'``), a rate that follows the data, which on
        ADBench's tables left too many anomalies in (see Notes); 0 trains on
        the plain ELBO, as VAETransformer. Early stopping's held-out score is
        trimmed alike (batch by batch), and the ``'aggregate'`` prior is
        fitted to the training rows the same rule keeps.

    n_estimators : int, default=2
        Number of VAEs the detector fits (its members, :attr:`estimators_`),
        each on its own random sample of ``max_samples`` rows, with its own
        seed, prior and threshold, as IsolationForest fits each tree on its
        own sample (Liu et al. 2008). :meth:`score_samples` is the mean of
        the members' scores, in nats (the log of the geometric mean of their
        density estimates), which averages out what one sample's VAE made of
        the anomalies it drew, and the noise of one training run; a fit costs
        ``n_estimators`` times one VAE's (see Notes).

    beta : float, default=1.0
        KL weight of the training loss (beta-VAE), as in VAETransformer.

    likelihood : str, Likelihood instance or list of (likelihood, columns) \
            tuples, default='student_t'
        Observation model p(x|z) of each column, as in VAETransformer, whose
        default is ``'gaussian'``. The detector's is the Student-t with
        learned scale and degrees of freedom per feature (Takahashi et al.
        2018; :class:`~skvae.likelihoods.StudentT`): a feature far from its
        location costs a row log-polynomially, not quadratically, so that
        neither the training rows' extreme values nor one extreme feature of
        a scored row dominate (see Notes). ``'gaussian'`` is cheaper per step.

    near_constant_ratio : float in [1e-3, 1) or None, default=0.1
        A feature whose training variance is at most this fraction of the
        median feature variance (the median over the features the Gaussian
        or Student-t models; an image's nearly blank border pixel)
        counts as near-constant: its decoder variance (Student-t: squared
        scale) is bounded below by this fraction of the median, as in
        VAETransformer (whose default,
        None, is 1e-3). So a little ink on such a pixel cannot dominate the
        score of a normal row (see Notes). Of standardized columns, only
        one constant in the training rows counts; in a table of raw units,
        columns of small numbers count as near-constant (standardize first
        when every column must count).

    categorical_features : 'from_dtype', None or array-like, default='from_dtype'
        Categorical columns of a DataFrame, encoded inside, as in
        VAETransformer.

    hidden_layer_sizes : 'auto' or array-like of int, default='auto'
        Encoder widths (the decoder mirrors them), as in VAETransformer,
        except that ``'auto'`` is (64, 64) on up to 1,024 training rows,
        the sample of ``max_samples='auto'`` (VAETransformer's 'auto' is
        (256, 256) from 1,000 rows), so that a fit's cost does not quadruple
        at 1,000 rows; on ADBench the wider networks ranked rows no better.

    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='relu'
        Hidden-layer activation, as in VAETransformer.

    max_iter : 'auto' or int, default='auto'
        Maximum number of training iterations, as in VAETransformer, except
        that ``'auto'`` is 30 (VAETransformer's is 200), a budget: a fit
        that reaches it ends without VAETransformer's ConvergenceWarning.
        An iteration is one epoch, or as many epochs as make 16 Adam steps
        on a small sample, so 30 iterations make at least 480 steps; on the
        512 rows of the previous ``max_samples='auto'`` (120 epochs) more
        did not rank ADBench's rows better, and the cap bounds the cost of a fit (see
        Notes). On fewer rows, ``'auto'`` is also at most 120 epochs: 20
        iterations on 257 to 384 training rows, 15 on 129 to 256, 7 on 128
        or fewer (iterations of 6, 8 and 16 epochs with ``batch_size=128``),
        so that the VAE does not learn a small table's anomalies over
        hundreds of passes. An int is a limit as in VAETransformer, with its
        warning.

    batch_size : int, default=128
        Rows per minibatch, as in VAETransformer.

    learning_rate : float, default=5e-3
        Adam's initial step size, and its schedule, as in VAETransformer.

    early_stopping : 'auto' or bool, default='auto'
        Stop on a held-out ELBO, as in VAETransformer, except that ``'auto'``
        never refits on all the rows: it holds out ``validation_fraction`` of
        the rows when that is at least 10 of them (``early_stopping=True``),
        10 rows when the table has 20 to ``10 / validation_fraction`` rows,
        else none (``False``), and keeps the model that has not seen the
        held-out rows (not in training, nor in the statistics its networks
        are built from), so that their scores can set the ``'auto'``
        threshold.

    validation_fraction : float, default=0.1
        Rows held out for early stopping, as in VAETransformer (a number
        here: without a refit, VAETransformer's ``'auto'`` is 0.1 too).

    n_iter_no_change : 'auto' or int, default='auto'
        Patience of the stopping rule, in iterations, as in VAETransformer.

    tol : float, default=1e-4
        Smallest improvement that counts, nats per row, as in VAETransformer.

    kl_warmup : int, default=0
        Iterations of linear KL warm-up, as in VAETransformer.

    free_bits : float, default=0.0
        Minimum KL per latent dimension in the loss, as in VAETransformer.

    n_importance_samples : int, default=1
        Draws of z per row in training (1: the ELBO; K > 1: the IWAE bound),
        as in VAETransformer.

    warm_start : bool, default=False
        If True, :meth:`fit` continues training the previous fit's VAEs, as
        in VAETransformer: each member its own (a member added by a larger
        ``n_estimators`` starts afresh).

    encoder : torch.nn.Module instance or class, default=None
        A custom encoder network, as in VAETransformer.

    encoder_kwargs : dict, default=None
        Keyword arguments for an ``encoder`` class.

    decoder : torch.nn.Module instance or class, default=None
        A custom decoder network, as in VAETransformer.

    decoder_kwargs : dict, default=None
        Keyword arguments for a ``decoder`` class.

    random_state : int, RandomState instance or None, default=None
        Seeds the first member's sample, training and fixed noise of the
        scores, and the seeds of the other members.

    verbose : int, default=0
        Training output, as in VAETransformer.

    device : str, default='cpu'
        Torch device, as in VAETransformer.

    Attributes
    ----------
    estimators_ : list of VAEOutlierDetector
        The ``n_estimators`` fitted members, each a detector of one VAE
        (``n_estimators=1``) with its own ``vae_``, ``prior_`` and
        ``offset_``; the first was seeded with ``random_state`` itself, so
        that ``n_estimators=1`` fits the same VAE as the first member of a
        larger ensemble with that seed. With ``n_estimators=1`` the list
        holds the detector itself.

    vae_ : VAETransformer
        The fitted VAE of the first member (with ``n_estimators > 1`` an
        alias: a member's scores use its own ``vae_`` and ``prior_``).

    prior_ : sklearn.mixture.GaussianMixture or None
        The ex-post prior on z of ``prior='aggregate'`` of the first member
        (None with ``'standard_normal'``).

    offset_ : float
        Threshold on :meth:`score_samples`, in nats:
        ``decision_function = score_samples - offset_``, and rows with a
        negative decision are outliers. Each member has its own, from its
        own scores; the detector's is set on its own (averaged) scores (see
        ``contamination``).

    n_iter_ : int
        The largest number of iterations a member's VAE trained (see
        VAETransformer).

    max_samples_ : int
        Number of rows each member's VAE was fitted on (``max_samples``
        resolved).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when X has string column names.

    See Also
    --------
    VAETransformer : The VAE itself.
    sklearn.ensemble.IsolationForest : Isolation-based outlier detector.
    sklearn.neighbors.LocalOutlierFactor : Density-based, with ``novelty=True``.
    sklearn.svm.OneClassSVM : Support of the training distribution.
    sklearn.mixture.GaussianMixture : A likelihood model that also scores rows.

    Notes
    -----
    Scores, in nats per row (``z ~ q(z|x)``, each row's own draws derived from
    its values and the model's seed, so that scores are deterministic and
    independent of the other rows; see :class:`VAETransformer`)::

        elbo(x)           = E_q[log p(x|z)] - KL(q(z|x) || p(z))
                          = E_q[log p(x|z) + log p(z)] + H[q(z|x)]
        iw(x)             = log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x)
        reconstruction_probability(x) = E_q[log p(x|z)]

    with p(z) the ex-post mixture (``prior='aggregate'``; the expectation
    over 16 fixed draws of each row, the entropy H in closed form) or N(0, I)
    (``'standard_normal'``; the KL in closed form). Either way the ELBO is a
    lower bound on log p(x) under a model with that prior and the trained
    decoder; with the mixture, the VAE's decoder is paired with a prior
    it was not trained with, the two-stage view of Ghosh et al. (2020).

    The ELBO is Kingma & Welling (2014), eq. 3, with the KL in closed form
    (appendix B); the importance-weighted bound is Burda et al. (2016), eq. 8;
    the reconstruction probability is An & Cho (2015), section 3.3: its text
    defines it as the Monte Carlo estimate of the reconstruction term
    ``E_q[log p(x|z)]`` of the bound, which is what skvae computes (its
    Algorithm 4 box averages the densities ``p(x|z_l)`` rather than their
    logarithms, a log-mean-exp, which ranks rows in a similar but not the same
    order).

    The offset with a float ``contamination`` is the training scores'
    ``100 * contamination`` percentile, as in
    :class:`~sklearn.ensemble.IsolationForest`. IsolationForest's ``'auto'``
    (offset -0.5) and LocalOutlierFactor's (-1.5) are fixed points of
    bounded scores; a log-likelihood has no such scale (it shifts with the
    data's units and grows with the number of features), so ``'auto'`` here
    is Tukey's lower fence ``Q1 - 1.5 IQR`` of normal rows' scores (Tukey
    1977), which moves and stretches with the scores. For normally
    distributed scores it flags about 0.35 % of the rows it is fitted on; for
    log-likelihoods, whose lower tail is long, typically a few percent.
    A flexible model rates its training rows higher than new rows from the
    same distribution (on digits, by about 20 nats an image), so ``'auto'``
    takes the fence of the held-out rows' scores: fitted on the training
    rows' scores instead, it flagged 37 % of new normal digits. Those rows
    also chose the number of iterations, so the fence may sit slightly low.
    A float ``contamination`` is a fraction of the training rows (the
    contract of scikit-learn's detectors), so a larger fraction of new
    normal rows is flagged; where normal rows can be held out, an offset
    set from their scores (e.g.
    ``np.percentile(det.score_samples(X_held_out), 5)``) is better calibrated
    (``benchmarks/RESULTS_outlier.md``).

    Missing values are handled alike in arrays and tables, as in
    :class:`VAETransformer`: a NaN entry (in a pandas or polars table also
    None or pd.NA) is missing. Training leaves it out of the likelihood, and
    a row with missing entries is scored on its observed entries only (for
    ``'elbo'``, a lower bound on log p(x_obs): the bound of Mattei & Frellsen
    2019, eq. 5, with K = 1). That is a log-density of fewer dimensions, in
    general higher than the complete row's would be (a row with every entry
    missing scores about 0 nats), so such a row is less likely to be
    flagged; impute first (:class:`VAEImputer`) where a missing entry should
    count against its row. A category of a table's column that ``fit`` did
    not see is not taken as missing, which would hide what makes the row
    unusual: it is a ValueError.

    Training rows that hold anomalies (the usual case: one unlabeled table,
    anomalies among its rows) are the setting of ADBench's unsupervised
    protocol (Han et al. 2022). A density model fitted to all of them learns
    the anomalies too, most of all a small cluster of alike anomalies. Four
    defaults resist that. The VAE trains on a random sample of at most 1,024
    rows (``max_samples``), as IsolationForest trains each tree on 256, which
    also bounds the cost of a fit (on ADBench, 1,024 rows with (64, 64)
    networks raised the mean ROC AUC from 0.760 to 0.763 over 512, on
    odd- and even-numbered tables alike, and left 3 tables more than 0.05
    below IsolationForest instead of 5). It trains on a trimmed ELBO
    (``trim_fraction=0.1``), which leaves the 10 % least likely rows of each
    minibatch out of the loss. On a small table its budget is at most 120
    passes over the rows (``max_iter='auto'``), not the 480 that 30
    iterations of 16 Adam steps would make of 100 rows. And the detector
    fits two such VAEs on two samples (``n_estimators=2``) and averages
    their scores in nats, as IsolationForest averages its trees' path
    lengths (Liu et al. 2008): what one sample's VAE learned of the
    anomalies it drew, and one training run's noise, are averaged out, at
    twice the cost of one VAE.

    On ADBench's 25 classical tables (unsupervised protocol; seed 0, each
    setting fitted twice and the two fits' ROC AUCs averaged), one VAE
    trimmed at 0.05, 0.1, 0.15, 0.2 and 0.3 of each minibatch had a mean ROC
    AUC of 0.738, 0.747, 0.754, 0.752 and 0.748, against 0.741 with the
    Tukey fence of ``'auto'`` (the default before); the budget of 120
    epochs raised the 7 tables of under 500 rows by 0.03 on average, and the
    second VAE the mean by a further 0.004 to 0.006. Trimming costs accuracy
    on clean data of many varied rows, where the hardest normal rows are
    the ones left out: on one seed of the novelty benchmark 0.1 scored
    0.809 and 0.15 0.799, against 0.817 with ``'auto'``; with two VAEs,
    0.814 and 0.808 (``'auto'``: 0.823). 0.1 is the compromise. On such
    data (images) ``max_samples=1.0, trim_fraction=0`` trains as
    VAETransformer does. ``benchmarks/RESULTS_outlier.md`` gives both
    benchmarks.

    Five settings differ from VAETransformer's: the default
    ``n_components=16``; ``likelihood='student_t'`` and
    ``max_iter='auto'``, 30 iterations (below); ``early_stopping='auto'``,
    which keeps the
    early-stopped model instead of refitting on all the rows, so that the
    held-out rows stay unseen for the ``'auto'`` threshold; and
    ``near_constant_ratio=0.1``. With VAETransformer's setting, a pixel
    that is nearly blank in every training image (variance over 1e-3 of the
    median pixel's) may shrink its variance to 1e-3 of its own, and a normal
    test image with a little ink there then loses tens to hundreds of nats
    on that pixel alone, which buries what tells a novel image apart. At
    0.1, such a pixel's variance stays above a tenth of the median pixel's,
    which bounds what it can cost; the other features keep VAETransformer's
    floor. Of standardized columns, only one that is constant in the
    training rows counts as near-constant.

    The Student-t likelihood (Takahashi et al. 2018) is the default for the
    same reason at the scale of whole tables: a standardized column of a
    real table is often heavy-tailed (a count that is mostly 0, a rare
    pixel), and under a Gaussian decoder the rare large values of such a
    column both pull the fit and dominate the scores, so that rows are
    ranked by their most extreme feature rather than by how unlike the
    normal rows they are. On ADBench's 25 classical tables (unsupervised
    protocol, 3 seeds; one VAE, ``trim_fraction='auto'``) it raised the
    mean ROC AUC from 0.728 to 0.744 and
    the mean rank from 4.62 to 4.04 of 9 (SpamBase 0.50 to 0.66, satellite
    0.70 to 0.76; annthyroid fell from 0.78 to 0.73), and it kept the
    novelty benchmark level. It trains longer than the Gaussian and each
    step costs about twice as much: ``max_iter='auto'`` (30 iterations)
    holds the median fit of one VAE on those tables to 1.1 CPU s (on one seed, 200
    iterations took 3.0 s for the same mean ROC AUC within 0.001; at 20
    the digits novelty fell by 0.013). ``benchmarks/RESULTS_outlier.md``
    gives both benchmarks.

    The default score is the ELBO, the cheapest estimate of log p(x); the
    benchmark compares the three.

    References
    ----------
    D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014,
    arXiv:1312.6114.

    Y. Burda, R. Grosse and R. Salakhutdinov, "Importance Weighted
    Autoencoders", ICLR 2016, arXiv:1509.00519.

    M. D. Hoffman and M. J. Johnson, "ELBO surgery: yet another way to carve
    up the variational evidence lower bound", NIPS Workshop on Advances in
    Approximate Bayesian Inference, 2016.

    P. Ghosh, M. S. M. Sajjadi, A. Vergari, M. Black and B. Schölkopf, "From
    Variational to Deterministic Autoencoders", ICLR 2020, arXiv:1903.12436.

    P.-A. Mattei and J. Frellsen, "MIWAE: Deep Generative Modelling and
    Imputation of Incomplete Data Sets", ICML 2019.

    S. Han, X. Hu, H. Huang, M. Jiang and Y. Zhao, "ADBench: Anomaly Detection
    Benchmark", NeurIPS 2022 Datasets and Benchmarks, arXiv:2206.09426.

    N. Neykov, P. Filzmoser, R. Dimova and P. Neytchev, "Robust fitting of
    mixtures using the trimmed likelihood estimator", Computational
    Statistics & Data Analysis 52(1), 2007.

    P. J. Rousseeuw, "Least Median of Squares Regression", Journal of the
    American Statistical Association 79(388), 1984.

    H. Takahashi, T. Iwata, Y. Yamanaka, M. Yamada and S. Yagi, "Student-t
    Variational Autoencoder for Robust Density Estimation", IJCAI 2018.

    J. An and S. Cho, "Variational Autoencoder based Anomaly Detection using
    Reconstruction Probability", Special Lecture on IE 2(1), SNU Data Mining
    Center, 2015 (technical report SNUDM-TR-2015-03).

    F. T. Liu, K. M. Ting and Z.-H. Zhou, "Isolation Forest", ICDM 2008.

    J. W. Tukey, "Exploratory Data Analysis", Addison-Wesley, 1977.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae import VAEOutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5)
    >>> det = VAEOutlierDetector(n_components=2, max_iter=5, random_state=0)
    >>> det.fit(X).predict([[0.0] * 5, [20.0] * 5])
    array([ 1, -1])
    >>> det.score_samples(X).shape
    (200,)
    """

    _own_params = _OWN_PARAMS
    _vae_class = _DetectorVAE
    _parameter_constraints = mirrored_constraints(
        validation_fraction=[Interval(Real, 0, 1, closed="neither")],
        score_type=[StrOptions({"elbo", "iw", "reconstruction_probability"})],
        prior=[StrOptions({"aggregate", "standard_normal"})],
        n_iw_samples=[Interval(Integral, 1, None, closed="left")],
        contamination=[
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
        ],
        max_samples=[
            StrOptions({"auto"}),
            Interval(Integral, 2, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
        ],
        trim_fraction=[StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="left")],
        n_estimators=[Interval(Integral, 1, None, closed="left")],
    )

    def __init__(
        self,
        n_components=16,
        *,
        score_type="elbo",
        prior="aggregate",
        n_iw_samples=100,
        contamination="auto",
        max_samples="auto",
        trim_fraction=0.1,
        n_estimators=2,
        beta=1.0,
        likelihood="student_t",
        near_constant_ratio=0.1,
        categorical_features="from_dtype",
        hidden_layer_sizes="auto",
        activation="relu",
        max_iter="auto",
        batch_size=128,
        learning_rate=5e-3,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change="auto",
        tol=1e-4,
        kl_warmup=0,
        free_bits=0.0,
        n_importance_samples=1,
        warm_start=False,
        encoder=None,
        encoder_kwargs=None,
        decoder=None,
        decoder_kwargs=None,
        random_state=None,
        verbose=0,
        device="cpu",
    ):
        self.n_components = n_components
        self.score_type = score_type
        self.prior = prior
        self.n_iw_samples = n_iw_samples
        self.contamination = contamination
        self.max_samples = max_samples
        self.trim_fraction = trim_fraction
        self.n_estimators = n_estimators
        self.beta = beta
        self.likelihood = likelihood
        self.near_constant_ratio = near_constant_ratio
        self.categorical_features = categorical_features
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.kl_warmup = kl_warmup
        self.free_bits = free_bits
        self.n_importance_samples = n_importance_samples
        self.warm_start = warm_start
        self.encoder = encoder
        self.encoder_kwargs = encoder_kwargs
        self.decoder = decoder
        self.decoder_kwargs = decoder_kwargs
        self.random_state = random_state
        self.verbose = verbose
        self.device = device

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the VAEs to X and set the threshold :attr:`offset_`.

        Each of the ``n_estimators`` VAEs trains on its own random sample of
        ``max_samples_`` rows of X (``max_samples``), on the trimmed ELBO of
        ``trim_fraction``; its prior and threshold come from its sample's
        rows, and :attr:`offset_` from the members' (see ``contamination``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, mostly normal rows; float32 or float64 (other
            numbers become float64), or a pandas or polars table. NaN (in a
            table also None or pd.NA) is a missing value, in an array as in a
            table: the VAE trains on the observed entries (see Notes). With
            ``likelihood='bernoulli'``, values must lie in [0, 1].

        y : None
            Ignored.

        Returns
        -------
        self : VAEOutlierDetector
            The fitted detector.

        Raises
        ------
        ValueError
            inf in X, too few rows, Bernoulli data outside [0, 1], a diverging
            training. A previous fit is then left as it was.
        """
        X = self._validate(X, reset=True)
        n_samples = _num_samples(X)
        if self.n_estimators == 1:  # the detector of one VAE is its member
            members = [self._fit_member(X, n_samples)]
        else:
            members = self._fit_members(X, n_samples)
        first = members[0]
        self.estimators_ = members
        self.vae_ = first.vae_
        self.prior_ = first.prior_
        self._iw_seed = first._iw_seed
        self.max_samples_ = first.max_samples_
        self.n_iter_ = max(m.n_iter_ for m in members)
        if self.contamination == "auto":
            if len(members) > 1:
                # Tukey's fence of the score that is thresholded, the members'
                # mean, on the rows held out of some member's training (each
                # member's early-stopping rows, at least MIN_VALIDATION_ROWS,
                # pooled): the mean of several scores spreads less than one
                # member's, so the members' own fences would flag almost
                # nothing. (One member set its own offset_, on its sample.)
                held_out = [m._held_out_rows for m in members]
                if all(r is not None for r in held_out):
                    X = _safe_indexing(X, np.unique(np.concatenate(held_out)))
                self.offset_ = _tukey_fence(self._scores(X))
        else:
            rows = [m._sample_rows for m in members]
            if all(r is not None for r in rows):  # the rows some member trained on
                X = _safe_indexing(X, np.unique(np.concatenate(rows)))
            scores = self._scores(X)
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        return self

    def _fit_members(self, X, n_samples):
        """Fit ``n_estimators`` one-VAE detectors to the validated rows X:
        member 0 seeded with ``random_state`` itself (the detector of one VAE
        with that seed), the others with seeds drawn from it; with
        ``warm_start``, each continues the previous fit's member."""
        params = self.get_params(deep=False)
        params["n_estimators"] = 1
        rng = check_random_state(self.random_state)
        drawn = rng.randint(np.iinfo(np.int32).max, size=self.n_estimators)
        seeds = [self.random_state] + [int(seed) for seed in drawn[1:]]
        previous = getattr(self, "estimators_", []) if self.warm_start else []
        members = []
        for j, seed in enumerate(seeds):
            member = type(self)(**{**params, "random_state": seed})
            if j < len(previous):  # warm start: each member continues its VAE
                if previous[j] is not self:
                    member = previous[j].set_params(**{**params, "random_state": seed})
                else:  # after a fit of one VAE, this detector's
                    member.vae_ = self.vae_
            members.append(member._fit_member(X, n_samples))
            for name in ("n_features_in_", "feature_names_in_"):
                # a member scores rows as the detector does
                if hasattr(self, name):
                    setattr(member, name, getattr(self, name))
                elif hasattr(member, name):
                    delattr(member, name)
        return members

    def _fit_member(self, X, n_samples):
        """Fit this detector as one member: its VAE on its sample of the
        validated rows X, its prior, and (contamination='auto') its offset."""
        max_samples = self._max_samples(n_samples)
        rows = None
        if max_samples < n_samples:
            rng = check_random_state(self.random_state)
            rows = np.sort(rng.choice(n_samples, max_samples, replace=False))
            X = _safe_indexing(X, rows)
        vae = self._fit_vae(X)
        self.vae_ = vae
        self.max_samples_ = max_samples
        self._sample_rows = rows
        self.n_iter_ = vae.n_iter_
        self._iw_seed = draw_seed(self.random_state)
        self.prior_ = self._fit_prior(X) if self.prior == "aggregate" else None
        self.offset_ = None
        # early stopping's held-out rows, as rows of the X passed to fit
        unseen = getattr(vae, "_unseen_rows", None)
        if unseen is None or len(unseen) < MIN_VALIDATION_ROWS:
            self._held_out_rows = None
        else:
            unseen = np.asarray(unseen)
            self._held_out_rows = unseen if rows is None else rows[unseen]
        if self.contamination == "auto":
            if self._held_out_rows is None:
                held_out = X  # too few rows for quartiles: the training rows
            else:
                held_out = _safe_indexing(X, unseen)
            self.offset_ = _tukey_fence(self._member_scores(held_out))
        return self

    def set_params(self, **params):
        """Set the parameters of this detector.

        As :meth:`sklearn.base.BaseEstimator.set_params`; the parameters of
        the score (``score_type``, ``prior``, ``n_iw_samples``) also reach
        the fitted members in :attr:`estimators_`, so that each scores as
        the detector does.

        Parameters
        ----------
        **params : dict
            Parameter names mapped to their new values.

        Returns
        -------
        self : VAEOutlierDetector
            This detector.
        """
        super().set_params(**params)
        self._sync_members()
        return self

    def _sync_members(self):
        """The fitted members score as this detector's parameters ask."""
        for member in getattr(self, "estimators_", None) or ():
            if member is not self:
                member.score_type = self.score_type
                member.prior = self.prior
                member.n_iw_samples = self.n_iw_samples

    def _max_samples(self, n_samples):
        """The rows one fit trains on: ``max_samples`` resolved, at most
        ``n_samples``."""
        if self.max_samples == "auto":
            return min(AUTO_MAX_SAMPLES, n_samples)
        if isinstance(self.max_samples, Integral):
            if self.max_samples > n_samples:
                warnings.warn(
                    f"max_samples ({self.max_samples}) is greater than the "
                    f"number of rows ({n_samples}): all rows are used.",
                    UserWarning,
                    stacklevel=3,
                )
            return min(self.max_samples, n_samples)
        return min(n_samples, max(2, int(self.max_samples * n_samples)))

    def _vae_for(self, params):
        """The mixin's VAE, trained on the trimmed ELBO of ``trim_fraction``."""
        vae = super()._vae_for(params)
        vae._trim = self.trim_fraction
        return vae

    def _fit_vae(self, X):
        """The mixin's fit; ``max_iter='auto'`` is a budget, not a limit to
        raise: reaching it gives no ConvergenceWarning."""
        with warnings.catch_warnings():
            if self.max_iter == "auto":
                warnings.filterwarnings(
                    "ignore",
                    category=ConvergenceWarning,
                    message="VAETransformer trained",
                )
            return super()._fit_vae(X)

    def _fit_prior(self, X):
        """The GaussianMixture of the codes of the rows the VAE trained on.

        Hoffman & Johnson (2016): the prior that maximizes the ELBO of the
        training rows is their aggregate posterior ``q(z) = mean_i q(z|x_i)``;
        a mixture fitted to draws from it after training is the ex-post
        density estimate of Ghosh et al. (2020). The held-out rows
        of early stopping are left out, so that the 'auto' threshold still
        scores rows the model never saw.
        """
        unseen = getattr(self.vae_, "_unseen_rows", None)
        if unseen is not None and len(unseen) < _num_samples(X):
            X = _safe_indexing(X, np.setdiff1d(np.arange(_num_samples(X)), unseen))
        if self.trim_fraction:  # the prior of the rows the trimmed ELBO keeps
            elbo = torch.as_tensor(self.vae_.score_samples(X))
            rows = _kept_rows(elbo, self.trim_fraction)
            if rows is not None:
                X = _safe_indexing(X, np.sort(rows.numpy()))
        z = self.vae_._posterior_draws(X, PRIOR_DRAWS, seed=self._iw_seed + 1)[2]
        z = z.reshape(-1, z.shape[-1]).astype(np.float64)
        n, k = z.shape
        per_component = k + k * (k + 1) / 2  # a mean and a full covariance
        # 1 component always; more while they have fewer parameters than values
        sizes = [
            m for m in PRIOR_SIZES if m == 1 or (m <= n and m * per_component < n * k)
        ]
        seed = self._iw_seed % 2**32
        best, rises = None, 0
        with limited_blas_threads():  # BLAS threads as the fit's (see _runtime)
            for m in sizes:
                fit = GaussianMixture(
                    m, covariance_type="full", reg_covar=1e-4, random_state=seed
                ).fit(z)
                bic = fit.bic(z)
                if best is None or bic < best[0]:
                    best, rises = (bic, fit), 0
                else:
                    rises += 1
                    if rises == PRIOR_PATIENCE:
                        break
        return best[1]

    def _vae_params_for(self, X):
        """The VAE's parameters, with the detector's ``max_iter='auto'``
        (``AUTO_MAX_ITER`` iterations) and ``early_stopping='auto'``: early
        stopping where VAETransformer's 'auto' would hold rows out, but no
        refit on all rows, so that the held-out rows stay unseen."""
        params = super()._vae_params_for(X)
        n_rows = _num_samples(X)
        if isinstance(params["hidden_layer_sizes"], str) and n_rows <= AUTO_MAX_SAMPLES:
            params["hidden_layer_sizes"] = AUTO_HIDDEN_SMALL
        if params["early_stopping"] == "auto":
            probe = VAETransformer(**params)
            params["early_stopping"] = probe._early_stopping(n_rows, "fit")
            if not params["early_stopping"] and n_rows >= 2 * MIN_VALIDATION_ROWS:
                # A table too small for validation_fraction to make
                # MIN_VALIDATION_ROWS rows holds that many out all the same:
                # trained to its training loss's plateau, the VAE overfits
                # them, and the 'auto' threshold needs unseen rows.
                params["early_stopping"] = True
                params["validation_fraction"] = MIN_VALIDATION_ROWS / n_rows
        if params["max_iter"] == "auto":
            params["max_iter"] = _auto_max_iter(VAETransformer(**params), n_rows)
        return params

    def score_samples(self, X):
        """Score of each row (higher is more normal), in nats.

        The quantity named by ``score_type``: an estimate of log p(x) (the
        ELBO, or the importance-weighted bound) or the reconstruction term
        ``E_q[log p(x|z)]``. Deterministic, and independent of the other rows
        in the call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score. NaN (in a table also None or pd.NA) is a missing
            value: the row is scored on its observed entries (see Notes). For
            the Bernoulli likelihood, values outside [0, 1] are clipped into
            it, with a warning.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Scores in nats, in X's dtype (float32 or float64); -inf for a
            row so far outside the training rows that its code or its
            likelihood overflows float32.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            If X holds inf, a category unseen in fit (in a table), or has
            the wrong number of features.
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self._scores(X)

    def decision_function(self, X):
        """Shifted scores: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``, nats, in X's dtype.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            If X holds inf, a category unseen in fit (in a table), or has
            the wrong number of features.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label each row as an inlier (+1) or an outlier (-1).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int
            -1 where :meth:`decision_function` is negative, else +1.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            If X holds inf, a category unseen in fit (in a table), or has
            the wrong number of features.
        """
        decision = self.decision_function(X)
        labels = np.ones(decision.shape[0], dtype=int)
        labels[decision < 0] = -1
        return labels

    def _validate(self, X, *, reset):
        """X as the VAE takes it: a table stays one (its categorical columns are
        the VAE's to encode), anything else a float array; NaN (or a table's
        None, pd.NA) is a missing value, as in VAETransformer, inf an error."""
        library = table_library(X)
        if library is not None:
            validate_data(self, X, reset=reset, skip_check_array=True)
            if not reset:
                self._check_known_categories(X, library)
            return X
        return validate_data(
            self,
            X,
            reset=reset,
            dtype=FLOAT_DTYPES,
            accept_sparse=SPARSE_FORMATS,
            ensure_all_finite="allow-nan",
        )

    def _check_known_categories(self, X, library):
        """ValueError for a category unseen in fit.

        VAETransformer would count it as missing and score the row on its other
        entries, which would hide the very thing that makes the row unusual.
        """
        for member in getattr(self, "estimators_", None) or [self]:
            table = getattr(member.vae_, "_table", None)
            categories = table.categories if table is not None else {}
            for name in X.columns:
                if str(name) not in categories:  # the encoder keeps names as text
                    continue
                values = _column_values(X, name, library)
                codes = table.category_codes(str(name), values)
                missing = np.equal(values, None)  # a missing value, not a category
                unseen = sorted({str(v) for v in values[(codes < 0) & ~missing]})
                if unseen:
                    raise ValueError(
                        f"Column {name!r} holds categories not seen in fit: "
                        f"{unseen[:5]}. VAEOutlierDetector cannot score them "
                        "(the VAE would drop the column from those rows' scores)."
                    )

    def _scores(self, X):
        """The ``score_type`` score of validated rows X, shape (n_samples,):
        the mean of the members' scores, in nats.

        A row so far outside the training rows that its code or likelihood
        overflows float32 (a NaN) scores -inf: the least likely.
        """
        self._sync_members()  # an attribute set directly after fit
        members = getattr(self, "estimators_", None) or [self]
        scores = [member._member_scores(X) for member in members]
        if len(scores) == 1:
            return scores[0]
        return np.mean(scores, axis=0).astype(scores[0].dtype, copy=False)

    def _member_scores(self, X):
        """The ``score_type`` score of validated rows X under this member's
        VAE and prior; NaN (an overflow) becomes -inf."""
        scores = self._raw_scores(X)
        return np.where(np.isnan(scores), -np.inf, scores).astype(
            scores.dtype, copy=False
        )

    def _raw_scores(self, X):
        if (
            self.prior == "aggregate"
            and self.score_type != "reconstruction_probability"
        ):
            if self.prior_ is None:
                raise ValueError(
                    "prior='aggregate' was set after a fit with "
                    "prior='standard_normal': fit again to fit the prior."
                )
            return self._scores_under_prior(X)
        if self.score_type == "iw":
            return self.vae_.score_samples_iw(
                X, self.n_iw_samples, random_state=self._iw_seed
            )
        if self.score_type == "reconstruction_probability":
            log_px, _ = self.vae_.elbo_terms(X)
            return log_px
        return self.vae_.score_samples(X)

    def _scores_under_prior(self, X):
        """'elbo' or 'iw' with the ex-post prior ``prior_`` in place of N(0, I).

        ``elbo = mean_s [log p(x|z_s) + log p(z_s)] + H[q(z|x)]`` with the
        ELBO's S = 16 draws of each row; ``iw = log mean_s p(x|z_s) p(z_s) /
        q(z_s|x)`` with ``n_iw_samples`` draws (Burda et al. 2016, eq. 8).
        """
        if self.score_type == "iw":
            # the draws of VAETransformer.score_samples_iw(random_state=_iw_seed)
            S, seed = self.n_iw_samples, draw_seed(self._iw_seed)
        else:
            S, seed = N_ELBO_SAMPLES, None
        log_px, log_q, z, entropy = self.vae_._posterior_draws(X, S, seed=seed)
        k = z.shape[-1]
        z = z.reshape(-1, k).astype(np.float64)
        # a row far outside the training rows may overflow its code (float32):
        # its density under the prior is then 0, its score -inf
        finite = np.isfinite(z).all(axis=1)
        log_pz = np.full(z.shape[0], -np.inf)
        if finite.any():
            # a huge code: log p(z) = -inf; BLAS threads as a fit's
            with np.errstate(over="ignore"), limited_blas_threads():
                log_pz[finite] = self.prior_.score_samples(z[finite])
        log_pz = log_pz.reshape(log_px.shape)
        if self.score_type == "iw":
            scores = logsumexp(log_px + log_pz - log_q, axis=1) - np.log(S)
        else:
            scores = (log_px + log_pz).mean(axis=1) + entropy
        return scores.astype(log_px.dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True  # a missing value, as in VAETransformer
        return tags
