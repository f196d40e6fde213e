"""EBVs are validated wherever they enter: files, checkpoints, the cache,
generation and ``save_ebvs``; the cosine scoring stays bounded."""
import functools
import math
import warnings

import pytest
import torch
from safetensors.torch import save_file

from mmebv.core import (EBVFileError, InvalidEBVError, check_ebvs,
                        extend_ebvs, generate_ebvs, load_ebvs, save_ebvs)
from mmebv.core import cache as cache_module
from mmebv.core import validation
from mmebv.core.classifier import EBVClassifier
from mmebv.core.scoring import MIN_TAU, NORM_EPS, bounded_normalize

N, D = 6, 5  # the regular simplex: generated at once, 1/5 apart


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv('MMEBV_CACHE', str(tmp_path / 'cache'))
    monkeypatch.setattr(cache_module, 'MIN_SECONDS', 0.0)


@functools.lru_cache(maxsize=None)
def generated(n: int, d: int) -> torch.Tensor:
    return generate_ebvs(n, d, progress=False)


def good_set(n=N, d=D):
    return generated(n, d).clone()


def broken(kind: str, ebvs: torch.Tensor) -> torch.Tensor:
    """``ebvs`` with one of the damages seen in the field."""
    bad = ebvs.clone()
    if kind == 'zeroed':
        bad[2] = 0.0
    elif kind == 'scaled':
        bad[2] *= 100
    elif kind == 'nan':
        bad[2, 1] = math.nan
    elif kind == 'duplicated':
        bad[5] = bad[2]
    elif kind == 'opposite':
        bad[5] = -bad[2]
    return bad


KINDS = ['zeroed', 'scaled', 'nan', 'duplicated', 'opposite']


@pytest.mark.parametrize('kind', KINDS)
def test_the_rule_refuses_each_damage(kind):
    check_ebvs(good_set(), 'test set', 'fix it')
    with pytest.raises(InvalidEBVError) as info:
        check_ebvs(broken(kind, good_set()), 'test set', 'fix it')
    assert 'test set' in str(info.value) and 'fix it' in str(info.value)
    assert 'row 2' in str(info.value) or 'rows 2 and 5' in str(info.value)


def test_large_sets_are_checked_for_repeated_rows(monkeypatch):
    monkeypatch.setattr(validation, 'EXACT_PAIR_WORK', 0)
    check_ebvs(good_set(), 'big set', 'fix')
    for kind in ('duplicated', 'opposite'):
        with pytest.raises(InvalidEBVError, match='rows 2 and 5'):
            check_ebvs(broken(kind, good_set()), 'big set', 'fix')


@pytest.mark.parametrize('kind', KINDS)
def test_files_with_damaged_rows_are_refused(tmp_path, kind):
    path = str(tmp_path / 'bad.safetensors')
    save_file({'ebvs': broken(kind, good_set())}, path)  # not save_ebvs
    with pytest.raises(InvalidEBVError, match='bad.safetensors'):
        load_ebvs(path)
    with pytest.raises(EBVFileError, match='bad.safetensors'):
        EBVClassifier(N, D, ebv_file=path)


def test_save_ebvs_refuses_an_invalid_set_and_writes_nothing(tmp_path):
    path = tmp_path / 'out.safetensors'
    with pytest.raises(InvalidEBVError, match='Nothing was written'):
        save_ebvs(str(path), broken('duplicated', good_set()))
    assert not path.exists()


def test_a_pickle_given_as_ebv_file_is_told_to_convert(tmp_path):
    path = tmp_path / 'eq_4_9.pkl'
    torch.save(good_set(), path)
    with pytest.raises(EBVFileError) as info:
        EBVClassifier(N, D, ebv_file=str(path))
    message = str(info.value)
    assert 'ebv_pickle_to_safetensors.py' in message
    assert '--out' not in message and 'eq_4_9.safetensors' in message


@pytest.mark.parametrize('kind', KINDS)
def test_checkpoint_with_damaged_ebvs_is_refused(kind):
    """Same recipe recorded, EBVs damaged: refused whatever the recipe."""
    state = EBVClassifier(N, D).state_dict()
    state['ebvs'] = broken(kind, state['ebvs'])
    with pytest.raises(InvalidEBVError, match="checkpoint's EBVs"):
        EBVClassifier(N, D).load_state_dict(state)


def test_checkpoint_with_a_worse_set_of_the_same_recipe_is_refused():
    state = EBVClassifier(N, D).state_dict()
    g = torch.Generator().manual_seed(1)
    state['ebvs'] = torch.nn.functional.normalize(
        torch.randn(N, D, generator=g), dim=1)  # valid, but random
    with pytest.raises(EBVFileError, match='max \\|cos\\|'):
        EBVClassifier(N, D).load_state_dict(state)


def cached_entry(tmp_path):
    entries = list((tmp_path / 'cache' / 'ebvs').glob('*.safetensors'))
    assert len(entries) == 1
    return entries[0]


def test_a_bit_flipped_cache_entry_is_regenerated_with_a_warning(tmp_path):
    fresh = EBVClassifier(N, D).ebvs.clone()
    entry = cached_entry(tmp_path)
    data = bytearray(entry.read_bytes())
    data[-3] ^= 0x01  # one mantissa bit of the last value: still unit-ish
    entry.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match='damaged or altered'):
        again = EBVClassifier(N, D).ebvs
    assert torch.equal(again, fresh)


def test_a_replaced_cache_entry_is_regenerated_with_a_warning(tmp_path):
    fresh = EBVClassifier(N, D).ebvs.clone()
    entry = cached_entry(tmp_path)
    other = generate_ebvs(N, D, seed=5, progress=False)
    save_ebvs(str(entry), other, dict(cache_key=entry.stem))  # valid file
    with pytest.warns(UserWarning, match='checksum'):
        again = EBVClassifier(N, D).ebvs
    assert torch.equal(again, fresh)


def test_a_verified_cache_entry_is_used_silently(tmp_path):
    fresh = EBVClassifier(N, D).ebvs.clone()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert torch.equal(EBVClassifier(N, D).ebvs, fresh)


def test_coinciding_classes_cannot_be_generated():
    for call in (lambda: generate_ebvs(5, 1, progress=False),
                 lambda: extend_ebvs(torch.ones(1, 1), 3, progress=False)):
        with pytest.raises(ValueError, match='dim >= 2'):
            call()


def test_a_poor_set_warns():
    with pytest.warns(UserWarning, match='within 22.5 degrees'):
        generate_ebvs(8, 2, progress=False)  # cos(pi / 8) = 0.92


def test_extending_a_damaged_set_is_refused():
    with pytest.raises(InvalidEBVError, match='to extend'):
        extend_ebvs(broken('duplicated', good_set()), N + 2, progress=False)


@pytest.mark.parametrize('tau', [math.nan, math.inf, -1.0, 0.0, 1e-40,
                                 MIN_TAU / 2, True])
def test_tau_must_be_finite_and_not_tiny(tau):
    with pytest.raises(ValueError, match='tau must be'):
        EBVClassifier(N, D, tau=tau)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16,
                                   torch.bfloat16])
@pytest.mark.parametrize('scale', [0.0, 1e-30, 1e-6, NORM_EPS, 1.0])
def test_scores_and_gradients_stay_bounded(dtype, scale):
    """Zero and tiny embeddings: finite logits within 1 / tau, gradients
    within the documented bound (F.normalize gave ~1e12 here)."""
    head = EBVClassifier(N, D)
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(4, D, generator=g) * scale).to(dtype).requires_grad_()
    logits = head(x)
    assert torch.isfinite(logits).all()
    assert float(logits.abs().max()) <= 1 / head.tau + 1e-4
    loss = torch.nn.functional.cross_entropy(logits, torch.arange(4))
    loss.backward()
    assert torch.isfinite(x.grad).all()
    bound = 0.65 / NORM_EPS * 2 / head.tau  # |J| * |dL/dscores| per row
    assert float(x.grad.float().norm(dim=1).max()) <= bound
    if scale == 0.0:
        assert not x.grad.any()  # no direction, no push


def test_long_embeddings_are_scored_by_their_cosine():
    x = torch.randn(16, D, dtype=torch.float64) * 3
    assert torch.allclose(bounded_normalize(x, 1),
                          torch.nn.functional.normalize(x, dim=1),
                          atol=1e-6)


def test_one_zero_sample_does_not_wreck_an_sgd_step():
    """A projection with zero bias and one all-zero input in the batch:
    one SGD step used to send every prediction to that sample's class."""
    torch.manual_seed(0)
    head = EBVClassifier(N, D)
    projection = torch.nn.Linear(8, D)
    torch.nn.init.zeros_(projection.bias)
    inputs = torch.randn(16, 8)
    inputs[0] = 0.0
    labels = torch.randint(1, N, (16, ))
    labels[0] = 0
    optimizer = torch.optim.SGD(projection.parameters(), lr=0.5)
    loss = torch.nn.functional.cross_entropy(head(projection(inputs)),
                                             labels)
    loss.backward()
    optimizer.step()
    assert float(projection.bias.norm()) < 10
    predictions = head(projection(torch.randn(256, 8))).argmax(1)
    assert predictions.unique().numel() > 1
