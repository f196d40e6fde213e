"""Structured Kerdock EBVs: fast logits equal dense ones; storage; errors."""
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from mmebv.core import (EBVClassifier, EBVFileError, generate_ebvs,
                        load_ebvs, save_ebvs)
from mmebv.core.constructions import sylvester_hadamard
from mmebv.core.structured import (KerdockEBVs, hadamard_transform,
                                   is_structured_file, load_kerdock,
                                   save_kerdock)
from tests_conftest import checkout_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TAU = 0.07
# (N, d): N <= n, one partial basis, d > n (zero padding), full capacity
SIZES = [(3, 4), (12, 4), (10, 5), (100, 16), (150, 70), (2112, 64),
         (5000, 256)]


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got.double() - want).abs().max() / want.abs().max())


@pytest.mark.parametrize('n', [4, 16, 64, 256, 1024])
def test_hadamard_transform_is_the_sylvester_matrix(n):
    values = torch.randn(3, 2, n, dtype=torch.float64)
    root = sylvester_hadamard(int(n**0.5)).double()
    want = values @ sylvester_hadamard(n).double().t()
    got = hadamard_transform(values, root)
    assert torch.allclose(got, want, atol=1e-12)
    assert torch.allclose(hadamard_transform(got, root), values, atol=1e-12)


@pytest.mark.parametrize('num_vectors,dim', SIZES)
def test_scored_vectors_are_the_dense_kerdock_set(num_vectors, dim):
    dense = generate_ebvs(num_vectors, dim, method='kerdock')
    kerdock = KerdockEBVs(num_vectors, dim)
    assert dense.shape == (num_vectors, dim)
    assert torch.equal(kerdock.dense(), dense)
    # scoring the standard basis reads the vectors back, column by column
    scored = kerdock(torch.eye(dim)).t()
    assert torch.allclose(scored, dense, rtol=0, atol=1e-6)
    norms = dense.double().norm(dim=1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-6)
    if num_vectors > kerdock.order:
        gram = (dense.double() @ dense.double().t()).abs()
        gram.fill_diagonal_(0)
        assert float(gram.max()) == pytest.approx(kerdock.coherence,
                                                  abs=1e-6)


@pytest.mark.parametrize('num_vectors,dim', SIZES)
def test_logits_and_input_gradients_equal_dense(num_vectors, dim):
    gen = torch.Generator().manual_seed(num_vectors)
    classifier = EBVClassifier(num_vectors, dim, tau=TAU, method='kerdock')
    assert classifier.kerdock is not None
    dense = generate_ebvs(num_vectors, dim, method='kerdock').double()
    inputs = torch.randn(5, dim, generator=gen, dtype=torch.float64)
    weights = torch.randn(5, num_vectors, generator=gen, dtype=torch.float64)

    fast_x = inputs.float().requires_grad_()
    fast = classifier(fast_x)
    (fast.double() * weights).sum().backward()
    ref_x = inputs.clone().requires_grad_()
    ref = F.normalize(ref_x, dim=1) @ dense.t() / TAU
    (ref * weights).sum().backward()

    assert fast.dtype == torch.float32 and fast.shape == (5, num_vectors)
    assert relative_error(fast, ref) < 1e-4
    assert relative_error(fast_x.grad, ref_x.grad) < 1e-4


def test_feature_maps_and_autocast():
    classifier = EBVClassifier(40, 16, method='kerdock')
    dense = generate_ebvs(40, 16, method='kerdock')
    maps = torch.randn(2, 16, 3, 5)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        logits = classifier(maps.bfloat16(), channel_dim=1)
    assert logits.dtype == torch.float32 and logits.shape == (2, 40, 3, 5)
    want = torch.einsum('bchw,nc->bnhw', F.normalize(
        maps.bfloat16().float(), dim=1), dense) / TAU
    assert relative_error(logits, want.double()) < 1e-4


def test_state_is_signs_only_at_100k_classes():
    classifier = EBVClassifier(100_000, 4096, method='kerdock')
    state = classifier.state_dict()
    assert 'kerdock.signs' in state and 'ebvs' not in state
    buffer_bytes = sum(b.numel() * b.element_size()
                       for b in classifier.buffers())
    assert buffer_bytes < 2**20
    assert state['kerdock.signs'].shape == (24, 4096)
    logits = classifier(torch.randn(2, 4096))
    assert logits.shape == (2, 100_000) and torch.isfinite(logits).all()
    # cosines are bounded by 1 and the largest is at least 1/sqrt(n) * tau
    assert float(logits.abs().max()) <= 1 / TAU + 1e-3


def test_capacity_error_names_the_largest_count():
    with pytest.raises(ValueError, match=r'R\^64.*at most 2,112 vectors'):
        generate_ebvs(2113, 70, method='kerdock')
    with pytest.raises(ValueError, match='at most 2,112'):
        EBVClassifier(3000, 64, method='kerdock')
    with pytest.raises(ValueError, match='dim >= 4'):
        KerdockEBVs(2, 3)


def test_checkpoint_round_trip_and_mismatch(tmp_path):
    trained = EBVClassifier(100, 16, method='kerdock')
    again = EBVClassifier(100, 16, method='kerdock')
    again.load_state_dict(trained.state_dict())
    fewer = EBVClassifier(90, 16, method='kerdock')
    with pytest.raises(EBVFileError, match='other EBVs'):
        fewer.load_state_dict(trained.state_dict(), strict=False)
    # the same vectors in dense form: another state (checkpoints do not
    # move between the forms)
    path = str(tmp_path / 'dense.safetensors')
    save_ebvs(path, generate_ebvs(100, 16, method='kerdock'))
    dense = EBVClassifier(100, 16, ebv_file=path)
    with pytest.raises(EBVFileError, match='other EBVs'):
        dense.load_state_dict(trained.state_dict(), strict=False)


def test_storage_round_trip(tmp_path):
    path = str(tmp_path / 'k.safetensors')
    kerdock = KerdockEBVs(5000, 256)
    save_kerdock(path, kerdock, dict(method='kerdock'))
    assert os.path.getsize(path) < 20 * 1024  # 19 x 256 signs, not N x d
    assert is_structured_file(path)
    loaded = load_kerdock(path, num_vectors=5000, dim=256)
    assert torch.equal(loaded.signs, kerdock.signs)
    dense, meta = load_ebvs(path, num_vectors=5000, dim=256)
    assert torch.equal(dense, kerdock.dense())
    assert meta['form'] == 'kerdock' and meta['order'] == '256'
    from_file = EBVClassifier(5000, 256, ebv_file=path)
    assert from_file.kerdock is not None
    assert torch.equal(from_file.ebv_fingerprint,
                       EBVClassifier(5000, 256, method='kerdock')
                       .ebv_fingerprint)


def test_storage_errors(tmp_path):
    path = str(tmp_path / 'k.safetensors')
    save_kerdock(path, KerdockEBVs(100, 16))
    with pytest.raises(EBVFileError, match='num_vectors=90.*--method kerdock'):
        EBVClassifier(90, 16, ebv_file=path)
    with pytest.raises(EBVFileError, match='dim=20'):
        load_kerdock(path, num_vectors=100, dim=20)
    tensors = load_file(path)
    tensors['kerdock_signs'][0, 3] *= -1
    with safe_open(path, framework='pt') as handle:
        meta = handle.metadata()
    save_file(tensors, path, metadata=meta)
    with pytest.raises(EBVFileError, match='damaged.*signs? .*not those of'):
        load_kerdock(path)
    plain = str(tmp_path / 'dense.safetensors')
    save_ebvs(plain, generate_ebvs(5, 4))
    assert not is_structured_file(plain)
    with pytest.raises(EBVFileError, match='not a structured'):
        load_kerdock(plain)
    assert EBVClassifier(5, 4, ebv_file=plain).kerdock is None


@pytest.mark.slow
def test_cli_writes_and_checks_the_structured_form(tmp_path):
    tool = os.path.join(ROOT, 'tools', 'generate_ebvs.py')
    env = checkout_env(ROOT, OMP_NUM_THREADS='1')

    def run(*args):
        return subprocess.run([sys.executable, tool, '--no-progress', *args],
                              capture_output=True, text=True, env=env,
                              timeout=300)

    out = str(tmp_path / 'k.safetensors')
    result = run('--method', 'kerdock', '--num-classes', '300', '--dim', '64',
                 '--out', out)
    assert result.returncode == 0, result.stderr
    assert 'max |cos| = 0.125 by construction' in result.stdout
    assert torch.equal(load_kerdock(out, 300, 64).dense(),
                       generate_ebvs(300, 64, method='kerdock'))
    result = run('--check', out)
    assert result.returncode == 0, result.stderr
    assert 'structured' in result.stdout and '0.125' in result.stdout
    result = run('--method', 'kerdock', '--num-classes', '3000', '--dim',
                 '64', '--out', out)
    assert result.returncode == 2 and 'at most 2,112' in result.stderr
