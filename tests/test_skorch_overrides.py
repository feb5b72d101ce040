"""Guards on skorch's internals that skvae's overrides rely on
(``skvae/_skorch_overrides.py``): each test fails if skorch changes the
behaviour an override depends on, before the override silently goes wrong."""

import inspect
import pickle

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, PrintLog
from torch import nn

from skvae import VAETransformer
from skvae._net import VAENet
from skvae._skorch_overrides import LeanNeuralNet, overrides_event


class Recorder(Callback):
    """Records every per-batch event it hears."""

    def __init__(self):
        self.heard = []

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        self.heard.append(("begin", training))

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        self.heard.append(("end", training))


class ModeLog(nn.Module):
    """A regression module that logs each ``train(mode)`` call made on it."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(3, 1)
        self.calls = []

    def train(self, mode=True):
        self.calls.append(mode)
        return super().train(mode)

    def forward(self, x):
        return self.layer(x)


def _regression_net(cls, **kwargs):
    X = np.random.RandomState(0).randn(40, 3).astype(np.float32)
    y = X[:, :1] * 2
    net = cls(
        ModeLog,
        criterion=nn.MSELoss,
        max_epochs=2,
        batch_size=10,
        train_split=None,
        **kwargs,
    )
    return net.fit(X, y)


def test_skorch_sets_the_training_mode_through_module_train_each_batch():
    """``_set_training`` is called before every batch and only calls
    ``module_.train(training)``: skipping the call when the top-level flag
    already matches changes no module's mode."""
    plain = _regression_net(NeuralNet)
    assert plain.module_.calls == [True] * 8  # 2 epochs x 4 batches
    lean = _regression_net(LeanNeuralNet)
    assert len(lean.module_.calls) <= 1  # the walk, at most once
    assert lean.module_.training and all(m.training for m in lean.module_.modules())
    source = inspect.getsource(NeuralNet._set_training)
    assert ".train(training)" in source


def test_notify_calls_the_net_then_each_callback_in_order():
    """``notify`` calls the net's own handler and then every callback's: the
    lean one skips only callbacks whose per-batch handler is Callback's no-op."""
    heard = {}
    for cls in (NeuralNet, LeanNeuralNet):
        recorder = Recorder()
        _regression_net(cls, callbacks=[("rec", recorder)])
        heard[cls] = recorder.heard
    assert heard[NeuralNet] == heard[LeanNeuralNet] != []
    assert Callback.on_batch_end(None, None) is None  # the base handler is a no-op
    source = inspect.getsource(NeuralNet.notify)
    assert "getattr(self, method_name)(self, **cb_kwargs)" in source
    assert "for _, cb in self.callbacks_" in source
    assert overrides_event(Recorder(), "on_batch_end")
    assert not overrides_event(PrintLog(), "on_batch_end")


def test_print_log_is_the_default_callback_named_print_log():
    names = dict(NeuralNet(ModeLog, criterion=nn.MSELoss).get_default_callbacks())
    assert isinstance(names["print_log"], PrintLog)


def test_skorch_pickles_the_trained_module_apart(X_gauss):
    """skorch pickles ``module_`` under ``__cuda_dependent_attributes__`` (so a
    CUDA model loads on a CPU); VAENet keeps no second copy as ``module``."""
    vae = VAETransformer(max_iter=2, hidden_layer_sizes=(8,), random_state=0)
    net = vae.fit(X_gauss).net_
    plain_state = NeuralNet.__getstate__(net)
    assert "module_" in pickle.loads(plain_state["__cuda_dependent_attributes__"])
    state = net.__getstate__()
    assert isinstance(state["module"], str)
    clone = pickle.loads(pickle.dumps(net))
    assert clone.module is clone.module_
    assert isinstance(clone, VAENet)


def test_early_stopping_exposes_what_the_net_reads():
    """VAENet.run reads ``misses_``, ``patience``, ``best_epoch_`` and
    ``best_model_weights_`` of skorch's EarlyStopping."""
    stopper = EarlyStopping(patience=2, load_best=True)
    stopper.on_train_begin(None)
    assert stopper.misses_ == 0 and stopper.patience == 2
    source = inspect.getsource(EarlyStopping)
    for name in ("best_epoch_", "best_model_weights_", "misses_"):
        assert name in source


def test_skorch_is_pinned_below_its_next_major():
    from importlib.metadata import requires

    (skorch_req,) = [r for r in requires("skvae") if r.startswith("skorch")]
    assert "<2" in skorch_req
    assert torch.__version__  # torch stays a range: >= 2.2
