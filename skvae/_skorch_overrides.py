"""Every override of a skorch internal that skvae makes, in one place.

Each relies on how skorch (>= 1.0, < 2) behaves today; each is covered by a
test in ``tests/test_skorch_overrides.py`` that fails if skorch changes the
behaviour it relies on. None changes what is trained, recorded or called
back: three trim skorch's per-batch bookkeeping (which cost 5-10 % of an epoch
of the default networks on a CPU), one keeps a single copy of the module in
pickles.
"""

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback

# Stands for ``module_`` in the pickled state of a net (see __getstate__).
_SAME_AS_MODULE_ = "<the trained module_>"

# Events skorch notifies on every batch.
BATCH_EVENTS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


def overrides_event(callback, event):
    """True if ``callback`` does something on ``event`` (not Callback's no-op)."""
    return event in vars(callback) or getattr(type(callback), event) is not getattr(
        Callback, event
    )


class LeanNeuralNet(NeuralNet):
    """skorch's ``NeuralNet`` with less per-batch bookkeeping and one module copy.

    Relies on: (1) skorch pickling ``module_`` apart under
    ``__cuda_dependent_attributes__`` (so CUDA tensors load on a CPU) and
    pickling ``module`` as given; (2) ``_set_training`` being called before
    every batch and only setting ``module_.train(training)``; (3) ``notify``
    calling the net's own method and then each callback's; (4) ``PrintLog``
    being the default callback named ``print_log``.
    """

    def __getstate__(self):
        # ``module`` is the module instance given to the net, which skorch
        # trains in place as ``module_``. skorch pickles ``module_`` apart so
        # that CUDA tensors are remapped to the CPU on a machine without a
        # GPU; ``module`` would be pickled again as is, and fail to load
        # there. Keep one copy: ``module_``.
        state = super().__getstate__()
        if state.get("module") is self.__dict__.get("module_"):
            state["module"] = _SAME_AS_MODULE_
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if isinstance(self.module, str) and self.module == _SAME_AS_MODULE_:
            self.module = self.module_

    def get_default_callbacks(self):
        """skorch's defaults, without ``print_log`` unless ``verbose``.

        ``PrintLog`` formats a table every epoch even when it prints nothing.
        """
        callbacks = super().get_default_callbacks()
        if not self.verbose:
            callbacks = [(n, cb) for n, cb in callbacks if n != "print_log"]
        return callbacks

    def _set_training(self, training=True):
        """Set train or eval mode, skipping the walk when nothing would change.

        skorch calls this before every batch; ``Module.train`` sets the flag
        on every submodule through ``Module.__setattr__``. The mode is only
        ever set on the whole module (by skorch, or ``eval()`` before
        inference), so its top-level flag tells the mode of all of it.
        """
        module = self.module_
        if isinstance(module, torch.nn.Module) and module.training == training:
            return
        super()._set_training(training)

    def initialize_callbacks(self):
        """skorch's, then note which callbacks act on the per-batch events."""
        super().initialize_callbacks()
        self.batch_listeners_ = {
            event: [cb for _, cb in self.callbacks_ if overrides_event(cb, event)]
            for event in BATCH_EVENTS
        }
        return self

    def notify(self, method_name, **cb_kwargs):
        """skorch's ``notify``; per-batch events skip callbacks that ignore them.

        A callback that does not override ``on_batch_begin``, ``on_batch_end``
        or ``on_grad_computed`` has the base class's no-op there, so not
        calling it changes nothing.
        """
        if method_name not in BATCH_EVENTS:
            return super().notify(method_name, **cb_kwargs)
        getattr(self, method_name)(self, **cb_kwargs)
        for cb in self.batch_listeners_[method_name]:
            getattr(cb, method_name)(self, **cb_kwargs)
