"""Properties linear CKA must have, for both estimators."""
import pytest
import torch
from torch import nn

from mmebv.analysis import (LayerRecorder, MinibatchCKA, layerwise_cka,
                            linear_cka, pairwise_angle_histogram,
                            select_layers, unbiased_hsic)


def _random_orthogonal(dim: int, generator: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=generator,
                                       dtype=torch.float64))
    return q


@pytest.fixture
def feats():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 20, generator=g, dtype=torch.float64)
    y = x @ torch.randn(20, 30, generator=g, dtype=torch.float64) + \
        0.5 * torch.randn(64, 30, generator=g, dtype=torch.float64)
    return x, y, g


def test_identical_is_one(feats):
    x, _, _ = feats
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)


def test_invariant_to_orthogonal_transform_scaling_and_shift(feats):
    x, y, g = feats
    q = _random_orthogonal(30, g)
    reference = linear_cka(x, y)
    assert linear_cka(x, 3.7 * y @ q + 5.0) == pytest.approx(
        reference, rel=1e-10)
    assert linear_cka(x, 3.7 * x @ _random_orthogonal(20, g)) == \
        pytest.approx(1.0, abs=1e-12)


def test_not_invariant_to_anisotropic_scaling(feats):
    x, y, _ = feats
    scale = torch.linspace(0.01, 10, 30, dtype=torch.float64)
    assert abs(linear_cka(x, y * scale) - linear_cka(x, y)) > 1e-3


def test_symmetric_and_in_unit_interval(feats):
    x, y, g = feats
    noise = torch.randn(64, 7, generator=g, dtype=torch.float64)
    for a, b in [(x, y), (x, noise), (y, noise)]:
        value = linear_cka(a, b)
        assert 0 <= value <= 1
        assert linear_cka(b, a) == pytest.approx(value, rel=1e-12)
    assert linear_cka(x, noise) < linear_cka(x, y)


def test_feature_and_gram_forms_agree(feats):
    x, y, _ = feats
    wide = torch.cat([y] * 10, dim=1)  # p1 * p2 > n^2: Gram form
    assert linear_cka(x, wide) == pytest.approx(linear_cka(x, y), rel=1e-10)


def test_bad_inputs_raise(feats):
    x, y, _ = feats
    with pytest.raises(ValueError, match='same samples'):
        linear_cka(x, y[:10])
    with pytest.raises(ValueError, match='constant'):
        linear_cka(x, torch.ones(64, 3))


def test_unbiased_hsic_matches_definition():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(9, 4, generator=g, dtype=torch.float64)
    y = torch.randn(9, 5, generator=g, dtype=torch.float64)
    k, l_ = x @ x.t(), y @ y.t()
    n = 9
    kt, lt = k - torch.diag(k.diag()), l_ - torch.diag(l_.diag())
    one = torch.ones(n, 1, dtype=torch.float64)
    expected = (torch.trace(kt @ lt) +
                (one.t() @ kt @ one) * (one.t() @ lt @ one) /
                ((n - 1) * (n - 2)) - 2 / (n - 2) *
                (one.t() @ kt @ lt @ one)) / (n * (n - 3))
    assert unbiased_hsic(k, l_) == pytest.approx(float(expected), rel=1e-12)


def test_minibatch_cka_properties(feats):
    x, y, g = feats
    q = _random_orthogonal(20, g)
    cka = MinibatchCKA(2, 3)
    for rows in torch.arange(64).split(16):
        cka.update([x[rows], y[rows]],
                   [2 * x[rows] @ q, y[rows], x[rows, :3]])
    cka.update([x[:2], y[:2]], [x[:2], y[:2], x[:2]])  # too small: skipped
    matrix = cka.compute()
    assert matrix.shape == (2, 3)
    assert matrix[0, 0] == pytest.approx(1.0, abs=1e-10)
    assert matrix[1, 1] == pytest.approx(1.0, abs=1e-10)
    assert (matrix <= 1 + 1e-10).all()
    assert cka.num_samples == 64 and cka.skipped_samples == 2
    # close to the exact estimator on the full data
    assert matrix[0, 1] == pytest.approx(linear_cka(x, y), abs=0.1)


def test_minibatch_cka_needs_a_batch():
    with pytest.raises(RuntimeError, match='at least 4'):
        MinibatchCKA(1, 1).compute()


class _TinyNet(nn.Sequential):

    def __init__(self):
        super().__init__(
            nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
            nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))


def test_layerwise_cka_hooks_real_layers():
    torch.manual_seed(0)
    net_a, net_b = _TinyNet(), _TinyNet()
    layers = select_layers(net_a, r'\d')
    assert layers == [str(i) for i in range(7)]
    conv_layers = ['0', '2', '6']
    batches = [torch.randn(8, 1, 6, 6) for _ in range(4)]
    run = lambda model, batch: model(batch)  # noqa: E731
    matrix = layerwise_cka([(net_a, conv_layers), (net_b, conv_layers)],
                           batches, run)
    assert matrix.shape == (6, 6)
    assert torch.allclose(matrix.diagonal(),
                          torch.ones(6, dtype=torch.float64))
    assert torch.allclose(matrix, matrix.t())
    assert (matrix[:3, 3:] < 1 - 1e-6).any()  # two different random nets
    # the same batches through one model give the same diagonal block
    alone = layerwise_cka([(net_a, conv_layers)], batches, run)
    assert torch.allclose(alone, matrix[:3, :3])
    flat = layerwise_cka([(net_a, conv_layers)], batches, run,
                         pool='flatten', max_batches=2)
    assert not torch.allclose(flat, alone)
    with pytest.raises(ValueError, match='No module'):
        select_layers(net_a, 'backbone.layer9')


class _TupleStage(nn.Module):
    """Returns (x, shape) like a Swin stage."""

    def forward(self, x):
        return x * 2, x.shape[-2:]


def test_recorder_takes_first_element_of_tuple_outputs():
    net = nn.Sequential(nn.Conv2d(1, 3, 1))
    net.add_module('stage', _TupleStage())
    batch = torch.randn(5, 1, 4, 4)
    with LayerRecorder(net, ['stage'], pool='flatten') as recorder:
        net(batch)
        (feature, ) = recorder.pop()
    assert torch.allclose(feature, (net[0](batch) * 2).reshape(5, -1))
    with LayerRecorder(net, ['0']) as recorder:
        with pytest.raises(RuntimeError, match='did not run'):
            recorder.pop()


def test_angle_histogram_counts_every_pair():
    g = torch.Generator().manual_seed(0)
    vectors = torch.randn(300, 16, generator=g)
    hist = pairwise_angle_histogram(vectors, bin_width_deg=0.5,
                                    max_tile_elements=3000)
    assert int(hist.counts.sum()) == hist.num_pairs == 300 * 299 // 2
    x = torch.nn.functional.normalize(vectors.double(), dim=1)
    cos = (x @ x.t())[torch.triu_indices(300, 300, 1).unbind()]
    angles = torch.rad2deg(torch.arccos(cos))
    assert hist.min_deg == pytest.approx(float(angles.min()), abs=1e-9)
    assert hist.max_deg == pytest.approx(float(angles.max()), abs=1e-9)
    expected = torch.histc(angles, bins=360, min=0, max=180).long()
    assert torch.equal(hist.counts, expected)
