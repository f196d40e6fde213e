"""Saving and loading EBV files: round trip and every kind of bad file."""
import os

import pytest
import torch
from safetensors.torch import save_file

from mmebv.core import EBVFileError, load_ebvs, save_ebvs
from mmebv.core.storage import FORMAT_VERSION
from mmebv.version import __version__


@pytest.fixture
def ebvs():
    return torch.nn.functional.normalize(
        torch.randn(12, 5, generator=torch.Generator().manual_seed(0)), dim=1)


def test_round_trip(tmp_path, ebvs):
    path = str(tmp_path / 'e.safetensors')
    save_ebvs(path, ebvs, dict(method='auto', seed=3, max_abs_cos=0.5))
    loaded, meta = load_ebvs(path, num_vectors=12, dim=5)
    assert loaded.numpy().tobytes() == ebvs.numpy().tobytes()
    assert meta['num_vectors'] == '12' and meta['dim'] == '5'
    assert meta['method'] == 'auto' and meta['seed'] == '3'
    assert meta['mmebv_version'] == __version__
    assert meta['format_version'] == FORMAT_VERSION
    assert [f for f in os.listdir(tmp_path)] == ['e.safetensors']
    with open(path, 'rb') as f:
        assert b'pickle' not in f.read(200)


def test_atomic_write_keeps_old_file_on_failure(tmp_path, ebvs):
    path = str(tmp_path / 'e.safetensors')
    save_ebvs(path, ebvs)
    with pytest.raises(ValueError):
        save_ebvs(path, torch.ones(3))
    assert torch.equal(load_ebvs(path)[0], ebvs)
    assert os.listdir(tmp_path) == ['e.safetensors']


def test_missing_file(tmp_path):
    with pytest.raises(EBVFileError, match='does not exist.*generate_ebvs'):
        load_ebvs(str(tmp_path / 'nope.safetensors'), 10, 4)


def test_garbage_file(tmp_path):
    path = tmp_path / 'bad.safetensors'
    path.write_bytes(b'\x00\x01not a safetensors file at all')
    with pytest.raises(EBVFileError, match='not a readable .safetensors'):
        load_ebvs(str(path))


def test_truncated_file(tmp_path, ebvs):
    path = tmp_path / 'e.safetensors'
    save_ebvs(str(path), ebvs)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 40])
    with pytest.raises(EBVFileError, match='not a readable'):
        load_ebvs(str(path))


def test_wrong_key(tmp_path, ebvs):
    path = str(tmp_path / 'w.safetensors')
    save_file({'weights': ebvs}, path)
    with pytest.raises(EBVFileError, match="no tensor under the key 'ebvs'"):
        load_ebvs(path)


@pytest.mark.parametrize('tensor', [torch.ones(4), torch.eye(3).double()])
def test_wrong_shape_or_dtype(tmp_path, tensor):
    path = str(tmp_path / 'w.safetensors')
    save_file({'ebvs': tensor}, path)
    with pytest.raises(EBVFileError, match='2-D float32'):
        load_ebvs(path)


def test_metadata_disagrees(tmp_path, ebvs):
    path = str(tmp_path / 'm.safetensors')
    save_file({'ebvs': ebvs}, path, metadata={'num_vectors': '13', 'dim': '5'})
    with pytest.raises(EBVFileError,
                       match='inconsistent: metadata num_vectors=13'):
        load_ebvs(path)


def test_not_unit_norm(tmp_path, ebvs):
    path = str(tmp_path / 'n.safetensors')
    save_file({'ebvs': ebvs * 1.01}, path)
    with pytest.raises(EBVFileError, match='must have norm 1'):
        load_ebvs(path)
    save_file({'ebvs': ebvs * float('nan')}, path)
    with pytest.raises(EBVFileError, match='not finite'):
        load_ebvs(path)


def test_expected_shape_mismatch(tmp_path, ebvs):
    path = str(tmp_path / 'e.safetensors')
    save_ebvs(path, ebvs)
    with pytest.raises(EBVFileError,
                       match='holds 12 x 5 EBVs but num_vectors=10'):
        load_ebvs(path, num_vectors=10)
    with pytest.raises(EBVFileError, match='dim=6 is needed.*--dim 6'):
        load_ebvs(path, dim=6)


def test_classifier_uses_file(tmp_path, ebvs):
    from mmebv.core import EBVClassifier
    path = str(tmp_path / 'e.safetensors')
    save_ebvs(path, ebvs)
    head = EBVClassifier(12, 5, ebv_file=path)
    assert torch.equal(head.ebvs, ebvs)
    with pytest.raises(EBVFileError):
        EBVClassifier(13, 5, ebv_file=path)


def test_classifier_reads_its_file_from_a_folder(tmp_path, ebvs):
    """A folder as ebv_file: each head reads eq_{d}_{N}.safetensors."""
    from mmebv.core import EBVClassifier
    save_ebvs(str(tmp_path / 'eq_5_12.safetensors'), ebvs)
    save_ebvs(str(tmp_path / 'eq_5_10.safetensors'), ebvs[:10])
    assert torch.equal(EBVClassifier(12, 5, ebv_file=str(tmp_path)).ebvs,
                       ebvs)
    assert torch.equal(EBVClassifier(10, 5, ebv_file=str(tmp_path)).ebvs,
                       ebvs[:10])
    with pytest.raises(EBVFileError, match=r'reads eq_6_12\.safetensors.*'
                       r'holds: eq_5_10\.safetensors, eq_5_12\.safetensors'):
        EBVClassifier(12, 6, ebv_file=str(tmp_path))
