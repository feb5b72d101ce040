"""Settings the tests share: small networks, few epochs, fixed seeds."""

from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_get_feature_names_out_error,
    check_global_output_transform_pandas,
    check_global_set_output_transform_polars,
    check_n_features_in_after_fitting,
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_set_output_transform_polars,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
)

# A fit in milliseconds on the tests' 20-60 row data sets.
FAST = {"max_iter": 3, "hidden_layer_sizes": (8,), "batch_size": 16, "random_state": 0}


def fast(*, without=(), **changes):
    """FAST with ``changes`` applied and the parameters in ``without`` left out."""
    params = {**FAST, **changes}
    for name in without:
        del params[name]
    return params


# sklearn's checks of a transformer that check_estimator does not run.
EXTRA_TRANSFORMER_CHECKS = [
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_global_output_transform_pandas,
    check_set_output_transform_polars,
    check_global_set_output_transform_polars,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    check_get_feature_names_out_error,
    check_dataframe_column_names_consistency,
    check_n_features_in_after_fitting,
]
