"""EBVClassifier on reload: the checkpoint's EBVs are the truth.

Also its arguments, dtypes and the on-disk cache of generated sets.
"""
import warnings

import pytest
import torch

from mmebv.core import EBVFileError, generate_ebvs, save_ebvs
from mmebv.core import cache as cache_module
from mmebv.core import trust
from mmebv.core.classifier import EBVClassifier
from mmebv.core.trust import (NOISE_TOLERANCE, ebv_fingerprint,
                              is_machine_independent)

#: An optimiser-made set (N > d + 1, no exact construction): fast to make.
N, D = 9, 4


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test gets its own EBV cache (and writes every set to it)."""
    monkeypatch.setenv('MMEBV_CACHE', str(tmp_path / 'cache'))
    monkeypatch.setattr(cache_module, 'MIN_SECONDS', 0.0)


def unit_rows(n, d, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=1)


def test_float_noise_is_replaced_by_the_checkpoints_ebvs():
    """As with another thread count: the same set up to the last bits."""
    state = EBVClassifier(N, D).state_dict()
    state['ebvs'] = state['ebvs'] + 2e-7
    model = EBVClassifier(N, D)
    assert not torch.equal(model.ebvs, state['ebvs'])
    model.load_state_dict(state)
    assert torch.equal(model.ebvs, state['ebvs'])
    assert torch.equal(model.ebv_fingerprint, ebv_fingerprint(state['ebvs']))
    assert 'checkpoint' in model.source


def test_same_generation_arguments_adopt_the_checkpoints_set():
    """The optimiser on another CPU ends elsewhere (~1e-3 here): the
    checkpoint was generated from the same arguments, so it is adopted."""
    state = EBVClassifier(N, D, seed=3).state_dict()
    state['ebvs'] = torch.nn.functional.normalize(
        state['ebvs'] + 1e-3 * unit_rows(N, D, 0), dim=1)
    model = EBVClassifier(N, D, seed=3)
    model.load_state_dict(state)
    assert torch.equal(model.ebvs, state['ebvs'])
    # and a state dict of the adopted model loads back into a fresh one
    EBVClassifier(N, D, seed=3).load_state_dict(model.state_dict())


def test_other_seed_is_refused_with_the_difference():
    state = EBVClassifier(N, D, seed=1).state_dict()
    # two seeds can end at the same optimum (a seed-independent candidate
    # wins a tie): rolled rows keep seed 1's recipe and differ from seed 0's
    state['ebvs'] = state['ebvs'].roll(1, 0)
    model = EBVClassifier(N, D, seed=0)
    with pytest.raises(EBVFileError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    diff = float((state['ebvs'] - model.ebvs).abs().max())
    assert diff > 0.01
    assert 'other EBVs' in message and f'{diff:.3g}' in message
    assert 'seed' in message and f'{N} x {D}' in message


def test_other_file_is_refused(tmp_path):
    a, b = tmp_path / 'a.safetensors', tmp_path / 'b.safetensors'
    save_ebvs(str(a), unit_rows(N, D, 1))
    save_ebvs(str(b), unit_rows(N, D, 2))
    state = EBVClassifier(N, D, ebv_file=str(a)).state_dict()
    with pytest.raises(EBVFileError, match='come from a file'):
        EBVClassifier(N, D, ebv_file=str(b)).load_state_dict(state)
    # the same file up to noise loads
    state['ebvs'] += 1e-7
    EBVClassifier(N, D, ebv_file=str(a)).load_state_dict(state)


def test_other_shape_and_non_finite_values_are_refused():
    state = EBVClassifier(N + 1, D).state_dict()
    with pytest.raises(EBVFileError, match=f'holds {N + 1} x {D} EBVs'):
        EBVClassifier(N, D).load_state_dict(state)
    state = EBVClassifier(N, D).state_dict()
    state['ebvs'][0, 0] = float('nan')
    with pytest.raises(EBVFileError, match='not finite'):
        EBVClassifier(N, D).load_state_dict(state)


def test_checkpoints_without_a_recipe_load_by_value():
    """State dicts written before the recipe digest existed."""
    state = EBVClassifier(N, D).state_dict()
    del state['ebv_recipe']
    model = EBVClassifier(N, D)
    model.load_state_dict(state, strict=True)  # no missing key reported
    state['ebvs'] = unit_rows(N, D, 5)
    with pytest.raises(EBVFileError, match='does not record'):
        model.load_state_dict(state)


def test_tolerance_separates_noise_from_other_sets():
    """1e-5 is far above float32 rounding of unit entries and far below the
    difference of any two distinct sets of the sizes used here."""
    assert torch.finfo(torch.float32).eps < NOISE_TOLERANCE / 50
    for n, d in ((10, 16), (1000, 300)):
        a, b = unit_rows(n, d, 0), unit_rows(n, d, 1)
        assert float((a - b).abs().max()) > 1000 * NOISE_TOLERANCE


def test_large_sets_need_a_machine_independent_construction(monkeypatch):
    """Above the checkpoint limit only the SHA-256 is stored: a set that a
    machine regenerates differently is announced at build time."""
    monkeypatch.setattr(trust, 'MAX_CHECKPOINTED_ELEMENTS', 8)
    with pytest.warns(UserWarning) as record:
        model = EBVClassifier(N, D)
    message = str(record[0].message)
    assert 'too large' in message
    assert (f'python tools/generate_ebvs.py --num-classes {N} --dim {D} '
            f'--out work_dirs/ebvs_{N}x{D}.safetensors') in message
    assert 'ebvs' not in model.state_dict()
    state = model.state_dict()
    state['ebv_fingerprint'] = ebv_fingerprint(model.ebvs + 1e-7)
    with pytest.raises(EBVFileError, match='SHA-256 differs'):
        EBVClassifier(N, D).load_state_dict(state)
    # A Kerdock set (d = 4: entries 0, +-1 and +-1/2) is exact everywhere.
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)
        kerdock = EBVClassifier(12, 4)
    assert is_machine_independent(kerdock.ebvs)
    EBVClassifier(12, 4).load_state_dict(kerdock.state_dict())


def test_machine_independence_check():
    assert is_machine_independent(torch.tensor([[0.5, -0.5], [0.0, 1.0]]))
    assert is_machine_independent(torch.tensor([[0.5, 0.25], [-2.0**-6, 0]]))
    assert not is_machine_independent(torch.tensor([[0.6, 0.8]]))
    assert not is_machine_independent(generate_ebvs(3, 5, progress=False))


@pytest.mark.parametrize('kwargs', [
    dict(method='paper'), dict(alpha=0.5), dict(seed=1)])
def test_ebv_file_with_generation_arguments_is_refused(tmp_path, kwargs):
    path = tmp_path / 'e.safetensors'
    save_ebvs(str(path), unit_rows(N, D, 0))
    with pytest.raises(ValueError) as info:
        EBVClassifier(N, D, ebv_file=str(path), **kwargs)
    name, value = next(iter(kwargs.items()))
    assert f'{name}={value!r}' in str(info.value)
    assert 'ebv_file' in str(info.value)
    EBVClassifier(N, D, ebv_file=str(path), method='auto', alpha=None, seed=0)


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_half_precision_modules_score_in_float32(dtype):
    model = EBVClassifier(N, D)
    reference = model.ebvs.clone()
    x = torch.randn(5, D)
    expected = model(x)
    model.to(dtype)
    assert model.ebvs.dtype == torch.float32
    assert torch.equal(model.ebvs, reference)
    got = model(x.to(dtype))
    assert got.dtype == torch.float32
    # only the input's rounding to half precision remains
    torch.testing.assert_close(got, expected, atol=0.05 / model.tau,
                               rtol=0.0)
    state = model.state_dict()
    assert state['ebvs'].dtype == torch.float32
    EBVClassifier(N, D).load_state_dict(state)


def test_generated_sets_are_cached_on_disk(monkeypatch):
    first = EBVClassifier(N, D, seed=7)
    path = cache_module.cache_path(N, D, 'auto', None, 7)
    assert path.is_file()

    def fail(*args, **kwargs):
        raise AssertionError('regenerated although cached')

    monkeypatch.setattr(cache_module, 'generate_ebvs', fail)
    assert torch.equal(EBVClassifier(N, D, seed=7).ebvs, first.ebvs)
    with pytest.raises(AssertionError, match='regenerated'):
        EBVClassifier(N, D, seed=8)


def test_damaged_cache_files_are_regenerated():
    expected = generate_ebvs(N, D, progress=False)
    path = cache_module.cache_path(N, D, 'auto', None, 0)
    path.parent.mkdir(parents=True)
    path.write_bytes(b'not a safetensors file')
    assert torch.equal(EBVClassifier(N, D).ebvs, expected)
    assert torch.equal(cache_module.load_ebvs(str(path))[0], expected)


def test_cache_key_follows_the_generator_sources(tmp_path):
    """Any edit of the mmebv.core sources gives other cache files."""
    same, edited = tmp_path / 'same', tmp_path / 'edited'
    for copy in (same, edited):
        copy.mkdir()
        for source in cache_module.CORE_DIR.glob('*.py'):
            (copy / source.name).write_bytes(source.read_bytes())
    with open(edited / 'optimize.py', 'a') as f:
        f.write('\n# an edit\n')
    assert cache_module.source_digest(same) == cache_module.source_digest()
    assert cache_module.source_digest(edited) != cache_module.source_digest()
    paths = {cache_module.cache_path(N, D, 'auto', alpha, seed)
             for alpha, seed in ((None, 0), (0.5, 0), (None, 1))}
    assert len(paths) == 3
