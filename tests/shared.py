"""Settings the tests share: small networks, few epochs, fixed seeds."""

# A fit in milliseconds on the tests' 20-60 row data sets.
FAST = {"max_iter": 3, "hidden_layer_sizes": (8,), "batch_size": 16, "random_state": 0}


def fast(*, without=(), **changes):
    """FAST with ``changes`` applied and the parameters in ``without`` left out."""
    params = {**FAST, **changes}
    for name in without:
        del params[name]
    return params
