"""tools/model_converters/ebv_pickle_to_safetensors.py on pickles written as
the authors wrote theirs (CUDA tensors), read on a CPU-only machine."""
import contextlib
import importlib.util
import io
import pickle

import pytest
import torch
import torch.nn.functional as F

from cuda_pickles import pickle_like_cuda
from dense_helpers import PYTHON, REPO, run
from mmebv.cli import run_tool
from mmebv.core import load_ebvs

TOOL = REPO / 'tools' / 'model_converters' / 'ebv_pickle_to_safetensors.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('ebv_pickle_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def refused(argv) -> str:
    """Run the tool's main as its command line does: exit code 2 and one
    ``error:`` line, which is returned."""
    tool = load_tool()
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = run_tool(lambda: tool.main([str(a) for a in argv]),
                        prog='ebv_pickle_to_safetensors.py')
    err = stderr.getvalue()
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith('ebv_pickle_to_safetensors.py: error:'), err
    return lines[0]


def unit_rows(num: int, dim: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(num, dim, generator=gen), dim=1)


def authors_pickle(path, ebvs: torch.Tensor, how: str = 'pickle') -> bytes:
    """``pickle.dump(cuda_tensor, f)`` as Generate_EBV.py did (how='pickle'),
    or ``torch.save(cuda_tensor, f)`` (how='torch.save')."""
    return pickle_like_cuda(ebvs, path, how)


@pytest.mark.parametrize('how', ['pickle', 'torch.save'])
def test_cuda_pickle_converts_on_cpu(tmp_path, how, capsys):
    ebvs = unit_rows(81, 81)
    pkl = tmp_path / 'eq_81_81.pkl'
    data = authors_pickle(pkl, ebvs, how)
    if how == 'pickle':
        # The authors' files start the same way: protocol 4, a rebuilt tensor
        # whose storage comes from torch bytes tagged with a CUDA location.
        assert data[:2] == b'\x80\x04' and b'_load_from_bytes' in data
    assert b'cuda:0' in data
    if not torch.cuda.is_available():  # a plain load wants the GPU back
        with pytest.raises(RuntimeError, match='CUDA'):
            if how == 'pickle':
                with open(pkl, 'rb') as f:
                    pickle.load(f)
            else:
                torch.load(pkl, weights_only=True)
    if how == 'pickle':  # why the converter does not use torch.load
        with pytest.raises(pickle.UnpicklingError):
            torch.load(pkl, map_location='cpu', weights_only=True)

    out = tmp_path / 'converted' / 'eq_81_81.safetensors'
    assert load_tool().main([str(pkl), str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'max |cos|' in printed and '81 x 81' in printed
    loaded, metadata = load_ebvs(str(out), num_vectors=81, dim=81)
    assert torch.equal(loaded, ebvs)
    assert metadata['method'] == 'authors'
    assert metadata['source'] == 'eq_81_81.pkl'


def test_rows_option_keeps_the_first_rows(tmp_path):
    """COCO's mask head uses rows 0-79 of the 81 x 81 set."""
    ebvs = unit_rows(81, 81, seed=1)
    pkl = tmp_path / 'eq_81_81.pkl'
    authors_pickle(pkl, ebvs)
    out = tmp_path / 'eq_81_80.safetensors'
    assert load_tool().main([str(pkl), str(out), '--rows', '80']) == 0
    loaded, metadata = load_ebvs(str(out), num_vectors=80, dim=81)
    assert torch.equal(loaded, ebvs[:80])
    assert metadata['source'] == 'eq_81_81.pkl (rows 0-79)'


@pytest.mark.slow
def test_command_line(tmp_path):
    pkl = tmp_path / 'eq_150_150.pkl'
    authors_pickle(pkl, unit_rows(150, 150, seed=2))
    out = tmp_path / 'eq_150_150.safetensors'
    printed = run([PYTHON, str(TOOL), str(pkl), str(out)]).stdout
    assert 'ratio to bound' in printed and f'Wrote {out}' in printed
    assert load_ebvs(str(out), 150, 150)[0].shape == (150, 150)


class _Payload:
    """Unpickling this would create ``target``: code in a pickle."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, 'w'))


@pytest.mark.parametrize('content', ['code', 'code_and_tensor'])
def test_pickle_holding_code_is_refused(tmp_path, content):
    target = tmp_path / 'created_by_the_pickle'
    payload = _Payload(str(target))
    obj = payload if content == 'code' else {
        'ebvs': unit_rows(4, 4), 'extra': payload}
    pkl = tmp_path / 'evil.pkl'
    with open(pkl, 'wb') as f:
        pickle.dump(obj, f)
    out = tmp_path / 'out.safetensors'
    assert 'refusing' in refused([pkl, out])
    assert not target.exists() and not out.exists()


@pytest.mark.parametrize('bad,message', [
    (torch.ones(3, 4), 'not unit vectors'),
    (torch.ones(4), '2-D float'),
    (torch.ones(3, 3, dtype=torch.int64), '2-D float'),
])
def test_tensors_that_are_not_ebvs_are_refused(tmp_path, bad, message):
    pkl = tmp_path / 'bad.pkl'
    authors_pickle(pkl, bad)
    out = tmp_path / 'bad.safetensors'
    assert message in refused([pkl, out])
    assert not out.exists()


def test_bad_arguments(tmp_path):
    pkl = tmp_path / 'eq.pkl'
    authors_pickle(pkl, unit_rows(5, 5))
    tool = load_tool()
    for argv in ([str(pkl), str(pkl)], [str(pkl), str(tmp_path / 'x.pkl')],
                 [str(pkl), str(tmp_path / 'o.safetensors'), '--rows', '1']):
        with pytest.raises(SystemExit) as exit_info:
            tool.main(argv)
        assert exit_info.value.code == 2
    assert '--rows 6' in refused([pkl, tmp_path / 'o.safetensors', '--rows',
                                  '6'])
    assert 'does not exist' in refused([tmp_path / 'missing.pkl',
                                        tmp_path / 'o.safetensors'])
    assert pkl.read_bytes()  # the input is untouched


@pytest.mark.parametrize('content, message', [
    (b'', 'is empty'),
    (b'ctorch._utils\n_rebuild_tensor_v2\n(tR.', 'not a readable'),
])
def test_empty_or_damaged_pickles_are_refused(tmp_path, content, message):
    """A damaged pickle (a tensor rebuilt without its arguments) ended in a
    TypeError traceback."""
    pkl = tmp_path / 'bad.pkl'
    pkl.write_bytes(content)
    out = tmp_path / 'o.safetensors'
    assert message in refused([pkl, out])
    assert not out.exists()


def test_unwritable_output_names_the_path_given(tmp_path):
    """No file can be created in /proc/self, even by root; this was a
    traceback naming a hidden temporary file."""
    pkl = tmp_path / 'eq.pkl'
    authors_pickle(pkl, unit_rows(5, 5))
    out = '/proc/self/eq.safetensors'
    line = refused([pkl, out])
    assert out in line and '.tmp-' not in line


@pytest.mark.slow
def test_generate_ebvs_check_points_a_pickle_to_the_converter(tmp_path):
    """--check on a .pkl says to convert it to a NEW file, never to write
    onto the user's pickle."""
    pkl = tmp_path / 'eq_100_1000.pkl'
    authors_pickle(pkl, unit_rows(10, 10))
    before = pkl.read_bytes()
    proc = run([PYTHON, 'tools/generate_ebvs.py', '--check', str(pkl)],
               check=False)
    assert proc.returncode == 2
    assert 'ebv_pickle_to_safetensors.py' in proc.stdout
    assert str(tmp_path / 'eq_100_1000.safetensors') in proc.stdout
    assert f'--out {pkl}' not in proc.stdout
    assert pkl.read_bytes() == before
