"""The authors' pickled EBVs (eq_{d}_{N}.pkl) -> an mmebv .safetensors file.

    python tools/model_converters/ebv_pickle_to_safetensors.py \\
        eq_81_81.pkl data/ebvs/authors/eq_81_81.safetensors
    python tools/model_converters/ebv_pickle_to_safetensors.py \\
        eq_81_81.pkl data/ebvs/authors/eq_81_80.safetensors --rows 80

The authors pickled CUDA float tensors with ``pickle.dump`` (rows = classes).
``torch.load(..., weights_only=True)`` cannot read those plain pickles, and
plain ``pickle.load`` needs CUDA and would run any code in the file; so the
file is read on the CPU by mmebv's restricted unpickler, which resolves only
tensor rebuilding (storages mapped to the CPU, weights only) and turns every
other pickled callable into an inert placeholder that is never called. A file
that holds anything but one tensor is refused. ``torch.save`` files of a
tensor are read the same way. The rows are written unchanged (float32), after
checking they are finite unit vectors, and the coherence report of the
written set is printed.

Exit codes: 0 done, 2 bad arguments or input (missing, empty or damaged
file, a pickle of anything but one EBV tensor, OUT not writable), reported
in one line.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

from mmebv.cli import UserInputError, run_tool  # noqa: E402
from mmebv.cls.checkpoint_io import (DroppedObject,  # noqa: E402
                                     restricted_torch_load)
from mmebv.core import coherence_report, load_ebvs, save_ebvs  # noqa: E402
from mmebv.core.storage import NORM_TOLERANCE  # noqa: E402


def describe_object(obj: object) -> str:
    """A short description of an unpickled object, for messages."""
    if isinstance(obj, DroppedObject):
        return f'a pickled {obj.source} object'
    if isinstance(obj, dict):
        keys = ', '.join(repr(k) for k in list(obj)[:5])
        more = ', ...' if len(obj) > 5 else ''
        return f'a dict (keys {keys}{more})'
    return f'a {type(obj).__name__}'


def read_pickled_ebvs(path: str) -> torch.Tensor:
    """The (N, d) float32 CPU tensor pickled in ``path``.

    Args:
        path: The pickle.

    Returns:
        The EBVs, rows = classes.

    Raises:
        UserInputError: ``path`` is missing, empty or damaged, or holds
            anything but one 2-D floating-point tensor of unit rows.
    """
    if not os.path.isfile(path):
        raise UserInputError(f'{path!r} does not exist.')
    obj = restricted_torch_load(path)
    if not isinstance(obj, torch.Tensor):
        raise UserInputError(
            f'{path!r} holds {describe_object(obj)}, not a tensor of EBVs; '
            f'refusing it (nothing from the file was run). The authors\' '
            f'EBV files hold one pickled tensor.')
    if obj.dim() != 2 or not obj.is_floating_point():
        raise UserInputError(
            f'{path!r} holds a {obj.dtype} tensor of shape '
            f'{tuple(obj.shape)}; EBVs are a 2-D float tensor (N classes x '
            f'd dims).')
    ebvs = obj.detach().to('cpu', torch.float32).contiguous()
    norms = ebvs.double().norm(dim=1)
    deviation = float((norms - 1).abs().nan_to_num(float('inf')).max())
    if deviation > NORM_TOLERANCE:
        raise UserInputError(
            f'{path!r}: rows are not unit vectors (largest norm deviation '
            f'{deviation:.3g} > {NORM_TOLERANCE}); rows must be the classes\' '
            f'EBVs.')
    return ebvs


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('pickle', help="the authors' EBV pickle (.pkl)")
    parser.add_argument('out', help='.safetensors EBV file to write')
    parser.add_argument(
        '--rows', type=int, metavar='K',
        help='keep only the first K rows (COCO mask head: 80 of the 81)')
    args = parser.parse_args(argv)
    if os.path.abspath(args.out) == os.path.abspath(args.pickle):
        parser.error('OUT must differ from the input pickle')
    if not args.out.endswith('.safetensors'):
        parser.error(f'OUT must end in .safetensors, got {args.out!r}')
    if args.rows is not None and args.rows < 2:
        parser.error(f'--rows must be at least 2, got {args.rows}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    ebvs = read_pickled_ebvs(args.pickle)
    if args.rows is not None:
        if args.rows > ebvs.shape[0]:
            raise UserInputError(
                f'--rows {args.rows} but {args.pickle!r} holds '
                f'{ebvs.shape[0]} rows')
        ebvs = ebvs[:args.rows].contiguous()
    report = coherence_report(ebvs)
    source = os.path.basename(args.pickle) + (
        f' (rows 0-{args.rows - 1})' if args.rows is not None else '')
    save_ebvs(args.out, ebvs, metadata=dict(
        method='authors', source=source,
        max_abs_cos=f'{report.max_abs_cos:.8g}', bound=f'{report.bound:.8g}'))
    load_ebvs(args.out, *ebvs.shape)  # what the heads will read back
    print(report)
    print(f'Wrote {args.out}: {ebvs.shape[0]} x {ebvs.shape[1]} EBVs from '
          f'{source}')
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
