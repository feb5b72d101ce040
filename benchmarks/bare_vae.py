"""A hand-written PyTorch training loop of the same model as VAETransformer.

The reference that ``benchmarks/run.py`` times and scores skvae against. It
takes the *same* networks and likelihoods (``skvae._modules``, ``skvae.likelihoods``)
with the *same* initial weights, draws the *same* seeds in the same order as
``VAETransformer.fit`` and slices the *same* shuffled mini-batches out of one
in-memory float32 tensor; everything else (loss, optimizer step, ELBO and
importance-weighted log-likelihood) is written here from the formulas of
Kingma & Welling (2014) and Burda et al. (2016), without skvae or skorch code.
With the same seed, its training losses match ``VAETransformer.loss_curve_``
to float32 rounding (``run.py`` checks this), so any time difference is the
wrapper's overhead and nothing else.
"""

import copy
import math

import torch

from skvae._net import FUSED_ADAM


def reference_model(estimator, X):
    """The initial module VAETransformer(**params).fit(X) starts from, and its seed.

    Mirrors ``VAETransformer._fit``: ``_fresh_net`` (the fit's generator, the
    scoring noise, the network seed, and the training seed that ``VAENet.run``
    seeds its own generator with).

    Returns
    -------
    module : skvae.VAEModule
        A fresh copy of the untrained module (weights as fit would start with).
    train_seed : int
        Seed for torch's global generator at the start of training.
    """
    est = copy.deepcopy(estimator)
    X = est._validate_input(X, reset=True)
    net, train_seed, _ = est._fresh_net(
        X, est._resolve_likelihood(X, X.shape[1]), "fit"
    )
    module = copy.deepcopy(net.module)
    # skvae centres location-family columns in float64 before the cast to
    # float32 (est._x_offset); the bare loop must train on the same numbers.
    module.bare_offset = est._x_offset
    return module, train_seed


def centred(module, X, dtype=torch.float32):
    """X as the module's tensor: location columns centred in float64 first."""
    offset = getattr(module, "bare_offset", None)
    if offset is not None:
        X = X - offset
    return torch.as_tensor(X, dtype=dtype)


def negative_elbo(module, x, beta=1.0, generator=None):
    """Mini-batch loss: mean over rows of -log p(x|z) + beta * KL (one z per row).

    The noise comes from ``generator`` (None: torch's global one).
    """
    z_loc, z_logvar = module.encoder(x)
    eps = torch.randn(z_loc.shape, generator=generator, dtype=z_loc.dtype)
    z = z_loc + torch.exp(0.5 * z_logvar) * eps
    log_px = module.likelihood.log_prob(x, module.decoder(z))
    kl = -0.5 * (1 + z_logvar - z_loc**2 - z_logvar.exp()).sum(1)
    return -log_px.mean() + beta * kl.mean(), log_px.mean(), kl.mean()


def train(module, X, *, epochs, batch_size, lr, seed, on_epoch_end=None):
    """Train ``module`` in place with Adam; return the per-epoch mean training loss.

    Same random draws as skvae: a ``torch.Generator`` seeded with ``seed``
    (``VAENet.run``'s own), then per epoch one ``randperm`` for the batch
    order and one ``randn`` per batch for the reparameterization noise.
    ``on_epoch_end(epoch, module)`` may evaluate the model (its time is the
    caller's to exclude).
    """
    X = centred(module, X)
    n = X.shape[0]
    # The optimizer skvae's net builds (fused Adam where torch has it on CPU),
    # so that the speed ratio measures the training loop, not the optimizer.
    optimizer = torch.optim.Adam(module.parameters(), lr=lr, fused=FUSED_ADAM or None)
    losses = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        for epoch in range(epochs):
            module.train()
            total = torch.zeros(())
            perm = torch.randperm(n, generator=generator)
            for start in range(0, n, batch_size):
                xb = X[perm[start : start + batch_size]]
                optimizer.zero_grad()
                loss, _, _ = negative_elbo(module, xb, generator=generator)
                loss.backward()
                optimizer.step()
                total += loss.detach() * xb.shape[0]
            losses.append(total.item() / n)
            if on_epoch_end is not None:
                with torch.random.fork_rng(devices=[]):
                    on_epoch_end(epoch, module)
    module.eval()
    return losses


@torch.no_grad()
def elbo(module, X, n_samples=16, seed=0, batch_size=2048):
    """Held-out ELBO per row (nats): MC average of log p(x|z), closed-form KL."""
    module.eval()
    g = torch.Generator().manual_seed(seed)
    X = centred(module, X)
    out = []
    for start in range(0, X.shape[0], batch_size):
        x = X[start : start + batch_size]
        z_loc, z_logvar = module.encoder(x)
        eps = torch.randn((n_samples, *z_loc.shape), generator=g)
        z = z_loc + torch.exp(0.5 * z_logvar) * eps
        x_out = module.decoder(z.reshape(-1, z.shape[-1])).reshape(
            n_samples, len(x), -1
        )
        log_px = module.likelihood.log_prob(x.expand_as(x_out), x_out).mean(0)
        kl = -0.5 * (1 + z_logvar - z_loc**2 - z_logvar.exp()).sum(1)
        out.append(log_px - kl)
    return torch.cat(out).double().numpy()


@torch.no_grad()
def iw_log_likelihood(module, X, n_samples=100, seed=0, batch_size=256, chunk=50):
    """Importance-weighted estimate of log p(x) per row, nats (Burda et al. 2016).

    ``log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x)``, z_k ~ q(z|x) independent
    for every row (skvae shares its K noise vectors across rows instead).
    """
    module.eval()
    g = torch.Generator().manual_seed(seed)
    X = centred(module, X)
    log2pi = math.log(2 * math.pi)
    out = []
    for start in range(0, X.shape[0], batch_size):
        x = X[start : start + batch_size]
        z_loc, z_logvar = module.encoder(x)
        std = torch.exp(0.5 * z_logvar)
        log_w = []
        for k0 in range(0, n_samples, chunk):
            k = min(chunk, n_samples - k0)
            eps = torch.randn((k, *z_loc.shape), generator=g)
            z = z_loc + std * eps
            x_out = module.decoder(z.reshape(-1, z.shape[-1])).reshape(k, len(x), -1)
            log_px = module.likelihood.log_prob(x.expand_as(x_out), x_out)
            log_pz = -0.5 * (z**2 + log2pi).sum(-1)
            log_qz = -0.5 * (eps**2 + log2pi + z_logvar).sum(-1)
            log_w.append(log_px + log_pz - log_qz)
        log_w = torch.cat(log_w)
        out.append(torch.logsumexp(log_w, 0) - math.log(n_samples))
    return torch.cat(out).double().numpy()


@torch.no_grad()
def encode(module, X):
    """Bare inference: the encoder's z_loc under no_grad, one call."""
    return module.encoder(centred(module, X, dtype=None))[0].numpy()
