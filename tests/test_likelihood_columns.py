"""ColumnLikelihoods: one likelihood per block of columns, as one Likelihood."""

import copy
import pickle

import pytest
import torch
from torch.distributions import constraints

from skvae.likelihoods import (
    Categorical,
    ColumnBlock,
    ColumnLikelihoods,
    Gaussian,
    Likelihood,
    NegativeBinomial,
    Poisson,
    StudentT,
    one_hot_or_zero,
)

F64 = torch.float64


def mixed():
    """Columns 3 and 0 Gaussian, 5 Poisson, (1, 4, 2) a categorical group,
    6 Student-t: blocks out of column order, on purpose."""
    return ColumnLikelihoods(
        [
            (Gaussian(), [3, 0]),
            (Poisson(), 5),
            (Categorical(), [1, 4, 2]),
            (StudentT(), [6]),
        ]
    )


X_MEAN = torch.tensor([0.5, 0.2, 0.3, -1.0, 0.5, 2.0, 0.0], dtype=F64)
X_VAR = torch.tensor([2.0, 0.16, 0.21, 0.5, 0.25, 3.0, 4.0], dtype=F64)


def initialized(lik=None):
    lik = mixed() if lik is None else lik
    out_loc, out_scale = lik.initialize(X_MEAN, X_VAR)
    return lik, out_loc, out_scale


def rows(n=5, seed=0):
    """Valid rows for :func:`mixed`, and decoder outputs."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 7, generator=generator)
    x[:, 5] = torch.poisson(torch.full((n,), 2.0), generator=generator)
    category = torch.randint(0, 3, (n,), generator=generator)
    x[:, [1, 4, 2]] = torch.nn.functional.one_hot(category, 3).float()
    out = torch.randn(n, 7, generator=generator)
    return x, out


def test_blocks_columns_and_outputs():
    lik, out_loc, out_scale = initialized()
    assert lik.n_features == 7 and lik.n_outputs(7) == 7
    assert lik.columns == ((3, 0), (5,), (1, 4, 2), (6,))
    blocks = lik.column_blocks(7)
    assert all(isinstance(b, ColumnBlock) for b in blocks)
    assert [b.outputs for b in blocks] == [
        slice(0, 2),
        slice(2, 3),
        slice(3, 6),
        slice(6, 7),
    ]
    assert [b.likelihood.support for b in blocks] == [
        constraints.real,
        constraints.nonnegative_integer,
        one_hot_or_zero,
        constraints.real,
    ]
    assert lik.support is constraints.real and lik.location_family is False
    assert lik.location_columns(7) == (0, 3, 6)
    # the output map is the blocks' maps, concatenated in block order
    torch.testing.assert_close(out_loc[:2], X_MEAN[[3, 0]])
    torch.testing.assert_close(out_loc[2], torch.log(X_MEAN[5]))
    cat_loc = out_loc[3:6]
    torch.testing.assert_close(
        cat_loc.softmax(-1), X_MEAN[[1, 4, 2]], rtol=1e-6, atol=0
    )
    torch.testing.assert_close(out_scale[:2], X_VAR[[3, 0]].sqrt())
    assert out_loc.dtype == out_scale.dtype == F64 and out_loc.shape == (7,)
    # a plain likelihood is one block over every column
    (block,) = Gaussian().column_blocks(3)
    assert block.columns == (0, 1, 2) and block.outputs == slice(0, 3)


def test_log_prob_is_the_sum_of_the_blocks():
    lik, _, _ = initialized()
    x, out = rows()
    expected = sum(
        b.likelihood.log_prob(x[:, list(b.columns)], out[:, b.outputs])
        for b in lik.column_blocks()
    )
    torch.testing.assert_close(lik.log_prob(x, out), expected)
    # per feature: in column order, summing to the same
    per_feature = lik.feature_log_prob(x, out)
    assert per_feature.shape == (5, 7)
    torch.testing.assert_close(per_feature.sum(-1), expected)
    torch.testing.assert_close(
        per_feature[:, 5], Poisson().feature_log_prob(x[:, 5], out[:, 2])
    )
    # batched over leading dimensions (draws x rows), as the model calls it
    stacked = lik.log_prob(x.expand(3, 5, 7), out.expand(3, 5, 7))
    torch.testing.assert_close(stacked, expected.expand(3, 5))


def test_masks_are_sliced_per_block():
    lik, _, _ = initialized()
    x, out = rows()
    observed = torch.rand(5, 7, generator=torch.Generator().manual_seed(1)) < 0.5
    expected = sum(
        b.likelihood.log_prob(
            x[:, list(b.columns)], out[:, b.outputs], observed[:, list(b.columns)]
        )
        for b in lik.column_blocks()
    )
    torch.testing.assert_close(lik.log_prob(x, out, observed), expected)
    nothing = torch.zeros(5, 7, dtype=torch.bool)
    assert torch.all(lik.log_prob(x, out, nothing) == 0)


def test_mean_and_sample_put_the_columns_back_in_place():
    lik, _, _ = initialized()
    _, out = rows()
    mean = lik.mean(out)
    assert mean.shape == (5, 7)
    torch.testing.assert_close(mean[:, [3, 0]], out[:, 0:2])
    torch.testing.assert_close(mean[:, 5], out[:, 2].exp())
    torch.testing.assert_close(mean[:, [1, 4, 2]], out[:, 3:6].softmax(-1))
    torch.testing.assert_close(mean[:, 6], out[:, 6])
    # draws in block order from the one generator, each in its block's support
    draw = lik.sample(out, torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(0)
    for block in lik.column_blocks():
        expected = block.likelihood.sample(out[:, block.outputs], generator)
        torch.testing.assert_close(draw[:, list(block.columns)], expected)
        assert block.likelihood.support.check(draw[:, list(block.columns)]).all()


def test_parameters_state_dict_and_pickle():
    lik, _, _ = initialized()
    names = [name for name, _ in lik.named_parameters()]
    assert names == [
        "blocks.0.x_logvar_raw",
        "blocks.3.x_logvar_raw",
        "blocks.3.df_raw",
    ]
    assert list(lik.state_dict()) == [
        "blocks.0.x_logvar_raw",
        "blocks.0.x_logvar_floor",
        "blocks.3.x_logvar_raw",
        "blocks.3.df_raw",
        "blocks.3.x_logvar_floor",
    ]
    x, out = rows()
    with torch.no_grad():
        for param in lik.parameters():
            param.add_(0.3)
    log_p = lik.log_prob(x, out)
    # a fresh composite, initialized on other statistics (as load_weights does)
    fresh = mixed()
    fresh.initialize(torch.zeros(7, dtype=F64), torch.ones(7, dtype=F64))
    fresh.load_state_dict(lik.state_dict())
    torch.testing.assert_close(fresh.log_prob(x, out), log_p, rtol=0, atol=0)
    clone = pickle.loads(pickle.dumps(lik))
    torch.testing.assert_close(clone.log_prob(x, out), log_p, rtol=0, atol=0)
    torch.testing.assert_close(
        clone.sample(out, torch.Generator().manual_seed(2)),
        lik.sample(out, torch.Generator().manual_seed(2)),
    )


def test_trains_its_blocks_parameters():
    lik = ColumnLikelihoods([(NegativeBinomial(), [0, 1]), (Gaussian(), [2])])
    lik.initialize(torch.tensor([2.0, 3.0, 0.0]), torch.tensor([5.0, 9.0, 1.0]))
    before = copy.deepcopy(lik.state_dict())
    optimizer = torch.optim.SGD(lik.parameters(), lr=0.1)
    x = torch.tensor([[0.0, 7.0, 0.3], [4.0, 1.0, -0.2]])
    (-lik.log_prob(x, torch.zeros(2, 3)).sum()).backward()
    optimizer.step()
    after = lik.state_dict()
    assert not torch.equal(after["blocks.0.log_theta"], before["blocks.0.log_theta"])
    assert not torch.equal(
        after["blocks.1.x_logvar_raw"], before["blocks.1.x_logvar_raw"]
    )


def test_float64_inference():
    lik, _, _ = initialized()
    x, out = rows()
    log_p = lik.log_prob(x, out)
    lik64 = copy.deepcopy(lik).to(F64)
    log_p64 = lik64.log_prob(x.double(), out.double())
    assert log_p64.dtype == F64 and lik64.mean(out.double()).dtype == F64
    torch.testing.assert_close(log_p64.float(), log_p, rtol=1e-5, atol=1e-5)
    assert lik64.sample(out.double(), torch.Generator()).dtype == F64


def test_blocks_are_copies():
    gaussian = Gaussian()
    lik = ColumnLikelihoods([(gaussian, [0]), (gaussian, [1])])
    assert lik.blocks[0] is not lik.blocks[1] and lik.blocks[0] is not gaussian
    lik.initialize(torch.zeros(2, dtype=F64), torch.tensor([1.0, 4.0], dtype=F64))
    assert not hasattr(gaussian, "x_logvar_raw")
    assert lik.blocks[0].x_logvar_floor != lik.blocks[1].x_logvar_floor


@pytest.mark.parametrize(
    "blocks, error, match",
    [
        ([], ValueError, "at least one block"),
        ([(Gaussian(), [0, 1]), (Poisson(), [1, 2])], ValueError, r"\[1\].*more than"),
        ([(Gaussian(), [0, 3])], ValueError, r"\[1, 2\] are in no block"),
        ([(Gaussian(), [])], ValueError, "nonempty"),
        ([(Gaussian(), [-1, 0])], ValueError, "nonnegative"),
        ([(Gaussian(), ["a"])], ValueError, "int"),
        ([(Gaussian(), [True])], ValueError, "int"),
        ([("gaussian", [0])], TypeError, "not a skvae.likelihoods.Likelihood"),
        ([Gaussian()], ValueError, r"\(likelihood, columns\) pairs"),
    ],
)
def test_invalid_blocks_are_refused(blocks, error, match):
    with pytest.raises(error, match=match):
        ColumnLikelihoods(blocks)


def test_the_data_must_have_its_width():
    lik = mixed()
    with pytest.raises(ValueError, match="covers 7 columns, but the data have 8"):
        lik.initialize(torch.zeros(8), torch.ones(8))
    with pytest.raises(ValueError, match="covers 7 columns"):
        lik.n_outputs(6)
    with pytest.raises(ValueError, match="covers 7 columns"):
        lik.column_blocks(3)


def test_data_warnings_name_the_columns():
    lik = ColumnLikelihoods([(Categorical(), [2, 0]), (Gaussian(), [1])])
    x = torch.tensor([[1.0, 0.3, 0.0], [0.0, 0.1, 0.0]])
    message = lik.data_warning(x)
    assert message.startswith("Columns [2, 0] (Categorical): 1 of 2 rows")
    assert lik.data_warning(torch.tensor([[1.0, 0.3, 0.0]])) is None


def test_is_a_likelihood_with_a_readable_repr():
    lik = mixed()
    assert isinstance(lik, Likelihood)
    text = repr(lik)
    assert "columns=((3, 0), (5,), (1, 4, 2), (6,))" in text
    assert "Poisson()" in text and "StudentT(df_init=5.0" in text


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_gpu():
    lik, _, _ = initialized()
    lik = lik.to("cuda")
    x, out = rows()
    x, out = x.cuda(), out.cuda()
    torch.testing.assert_close(
        lik.log_prob(x, out).cpu(), initialized()[0].log_prob(x.cpu(), out.cpu())
    )
    draw = lik.sample(out, torch.Generator(device="cuda").manual_seed(0))
    assert draw.device.type == "cuda" and lik.mean(out).shape == (5, 7)
    assert lik.data_warning(x.cpu()) is None
