"""Generate, check or extend a set of equiangular basis vectors (EBVs).

Examples::

    python tools/generate_ebvs.py --num-classes 1000 --dim 512 \\
        --out ebvs_1000x512.safetensors
    python tools/generate_ebvs.py --check ebvs_1000x512.safetensors
    python tools/generate_ebvs.py --method kerdock --num-classes 100000 \
        --dim 4096 --out kerdock_100000x4096.safetensors  # signs only
    python tools/generate_ebvs.py --extend ebvs_1000x512.safetensors \\
        --num-classes 1100 --out ebvs_1100x512.safetensors

Exit codes: 0 done, 1 an explicit --alpha was not reached (the best set found
is saved anyway), 2 bad arguments, an invalid input file (``--check`` of a set
with a non-finite value, a row that is not unit-norm or two coinciding rows)
or an output that cannot be written; each is one line on stderr.
"""
import argparse
import os
import sys
import time
from typing import Callable, Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmebv.cli import (ArgumentParser, UserInputError,  # noqa: E402
                       available_memory, run_tool)
from mmebv.core import (EBVFileError, coherence_report, extend_ebvs,  # noqa
                        generate_ebvs, load_ebvs, lower_bound, save_ebvs)
from mmebv.core.generate import (TARGET_SLACK, bound_name,  # noqa: E402
                                 check_separable)
from mmebv.core.paper import PAPER_ALPHA, PAPER_TOLERANCE  # noqa: E402
from mmebv.core.validation import POOR_COS  # noqa: E402
from mmebv.core.structured import (KerdockEBVs, check_kerdock_size,  # noqa
                                   is_structured_file, load_kerdock,
                                   save_kerdock)

#: Above this N^2 d a structured set's report comes from its construction
#: alone; below, the dense pairwise report is printed too.
DENSE_REPORT_WORK = 1e10
#: Generation holds about this many float32 copies of the (N, d) set, plus
#: :data:`WORKSPACE_BYTES` of tiles.
SET_COPIES, WORKSPACE_BYTES = 8, 1 << 28


def number_at_least(cast: Callable, minimum: float,
                    what: str) -> Callable[[str], float]:
    """An argparse type: ``cast(text)``, finite and at least ``minimum``."""

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            value = None
        if value is None or not minimum <= value < float('inf'):
            raise argparse.ArgumentTypeError(f'expected {what}, got {text!r}')
        return value

    return parse


positive_int = number_at_least(int, 1, 'a positive integer')
non_negative_int = number_at_least(int, 0, 'a non-negative integer')
non_negative_float = number_at_least(float, 0, 'a non-negative finite number')


def parse_args(argv=None) -> argparse.Namespace:
    parser = ArgumentParser(
        description='Generate, check or extend EBVs (.safetensors).')
    parser.add_argument('--num-classes', type=positive_int,
                        help='number of EBVs N (one per class)')
    parser.add_argument('--dim', type=positive_int, help='EBV dimension d')
    parser.add_argument('--alpha', type=non_negative_float,
                        help='target max |cos| (default: as low as the '
                        'budget allows; 0.002 for --method paper)')
    parser.add_argument('--method', choices=['auto', 'paper', 'kerdock'],
                        default='auto',
                        help='kerdock: write the structured form (sign '
                        'patterns, scored by fast transforms)')
    parser.add_argument('--seed', type=non_negative_int, default=0)
    parser.add_argument('--device', default='cpu',
                        help="'cpu' or 'cuda' (or 'cuda:N')")
    parser.add_argument('--time-limit', type=non_negative_float,
                        help='wall-clock budget in seconds')
    parser.add_argument('--out', help='output .safetensors file')
    parser.add_argument('--check', metavar='FILE',
                        help='print the quality report of an EBV file')
    parser.add_argument('--extend', metavar='FILE',
                        help='add rows to this EBV file up to --num-classes')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    validate(parser, args)
    return args


def nearest_existing_folder(path: str) -> Optional[str]:
    """The deepest existing folder above ``path`` (None if a file is in the
    way): where the folders that ``--out`` needs would be created."""
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    return folder if os.path.isdir(folder) else None


def validate(parser: ArgumentParser,
             args: argparse.Namespace) -> None:
    """Reject every bad combination before any work is done."""
    if args.check:
        if args.extend or args.out:
            parser.error('--check takes no --extend or --out')
        return
    if args.num_classes is None:
        parser.error('--num-classes is required')
    if args.num_classes < 2:
        parser.error(f'--num-classes must be at least 2, got '
                     f'{args.num_classes}')
    if args.extend is None and args.dim is None:
        parser.error('--dim is required (or --extend FILE)')
    if not args.out:
        parser.error('--out FILE.safetensors is required')
    if not args.out.endswith('.safetensors'):
        parser.error(f'--out must end with .safetensors, got {args.out!r}')
    # missing folders are created when the file is written
    out_dir = nearest_existing_folder(args.out)
    if out_dir is None:
        parser.error(f'cannot write --out {args.out!r}: a part of its path '
                     f'is a file, not a folder')
    if not os.access(out_dir, os.W_OK) or (os.path.exists(args.out) and (
            os.path.isdir(args.out) or not os.access(args.out, os.W_OK))):
        parser.error(f'cannot write --out {args.out!r}: permission denied '
                     f'or not a file')
    if args.device.startswith('cuda'):
        import torch
        if not torch.cuda.is_available():
            parser.error('--device cuda requested but CUDA is not available;'
                         ' use --device cpu')
    elif args.device != 'cpu':
        parser.error(f"--device must be 'cpu' or 'cuda', got {args.device!r}")
    if args.method == 'kerdock':
        if args.extend:
            parser.error('--extend takes no --method kerdock (a larger '
                         'Kerdock set starts with the smaller one: generate '
                         'it with the new --num-classes)')
        try:
            check_kerdock_size(args.num_classes, args.dim)
        except ValueError as err:
            parser.error(str(err))
    if args.extend:
        try:
            args.base, _ = load_ebvs(args.extend)
        except EBVFileError as err:
            parser.error(f'--extend: {err}')
        if args.dim is not None and args.dim != args.base.shape[1]:
            parser.error(f'--dim {args.dim} differs from the {args.extend} '
                         f'dimension {args.base.shape[1]}')
        args.dim = args.base.shape[1]
        if args.num_classes < args.base.shape[0]:
            parser.error(f'--num-classes {args.num_classes} is smaller than '
                         f'the {args.base.shape[0]} EBVs in {args.extend}')
    try:
        check_separable(args.num_classes, args.dim)
    except ValueError as err:
        parser.error(str(err))
    needed = SET_COPIES * 4 * args.num_classes * args.dim + WORKSPACE_BYTES
    free = available_memory()
    if (args.method != 'kerdock' and args.device == 'cpu' and free is not None
            and needed > free):
        parser.error(f'{args.num_classes} x {args.dim} EBVs need about '
                     f'{needed / 2**30:.3g} GiB of memory to generate; '
                     f'{free / 2**30:.3g} GiB are available. Use fewer '
                     f'classes or dimensions, or --method kerdock (signs '
                     f'only).')
    bound = lower_bound(args.num_classes, args.dim)
    if (args.method == 'paper' and args.alpha is None
            and PAPER_ALPHA < bound - TARGET_SLACK):
        parser.error(f'--method paper needs --alpha here: its default '
                     f'{PAPER_ALPHA} is below the lower bound {bound:.6g} '
                     f'for {args.num_classes} vectors in {args.dim} dims. '
                     f'Give --alpha >= {bound:.6g} (the authors used 0.05 '
                     f'for 1000 in 512), or use the default --method auto')
    if args.alpha is not None:
        if args.alpha >= 1:
            parser.error(f'--alpha must be below 1, got {args.alpha}')
        if args.alpha < bound - TARGET_SLACK:
            parser.error(
                f'--alpha {args.alpha} is below the lower bound {bound:.6g} '
                f'({bound_name(args.num_classes, args.dim)}) for '
                f'{args.num_classes} vectors in {args.dim} dims; use '
                f'--alpha >= {bound:.6g} or a larger --dim')


def print_kerdock_report(kerdock: KerdockEBVs) -> float:
    """Print the exact max |cos| of a Kerdock set (and, if small, the
    dense pairwise report); return the max |cos|."""
    n, d = kerdock.num_vectors, kerdock.dim
    bound = lower_bound(n, d)
    print(f'Kerdock set of {n} vectors in R^{kerdock.order} (zero-padded to '
          f'd = {d}): max |cos| = {kerdock.coherence:.6g} by construction; '
          f'lower bound {bound:.6g}' + (
              f', ratio {kerdock.coherence / bound:.4f}' if bound else ''))
    if n > 1 and n * n * d <= DENSE_REPORT_WORK:
        print(coherence_report(kerdock.dense()))
    return kerdock.coherence


def check(path: str) -> int:
    """``--check``: print the report of a valid file; a missing, damaged or
    invalid file raises (exit 2)."""
    if is_structured_file(path):
        kerdock = load_kerdock(path)
        print(f'{path}: structured, {kerdock.signs.numel()} signs')
        print_kerdock_report(kerdock)
        return 0
    ebvs, metadata = load_ebvs(path)
    if ebvs.shape[0] < 2:
        raise UserInputError(f'{path!r} holds {ebvs.shape[0]} EBV(s); a set '
                             f'for classification has at least 2.')
    print(f'{path}: ' + ', '.join(f'{k}={v}' for k, v in
                                  sorted(metadata.items())))
    print(coherence_report(ebvs))
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.check:
        return check(args.check)
    if args.method == 'kerdock':
        return write_kerdock(args)
    progress = not args.no_progress
    start = time.monotonic()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the report below says it clearly
        if args.extend:
            ebvs = extend_ebvs(args.base, args.num_classes, alpha=args.alpha,
                               seed=args.seed, device=args.device,
                               time_limit=args.time_limit, progress=progress)
        else:
            ebvs = generate_ebvs(args.num_classes, args.dim,
                                 method=args.method, alpha=args.alpha,
                                 seed=args.seed, device=args.device,
                                 time_limit=args.time_limit,
                                 progress=progress)
    seconds = time.monotonic() - start
    report = coherence_report(ebvs, device=args.device)
    print(report)
    print(f'generated in {seconds:.2f} s')
    if report.max_abs_cos >= POOR_COS:
        print(f'generate_ebvs.py: warning: max |cos| {report.max_abs_cos:.4g}'
              f': some classes are within {report.min_angle_deg:.1f} degrees '
              f'of each other and hard to tell apart; a larger --dim helps.',
              file=sys.stderr)
    metadata = dict(method='extend' if args.extend else args.method,
                    seed=args.seed, max_abs_cos=f'{report.max_abs_cos:.8g}',
                    bound=f'{report.bound:.8g}')
    if args.alpha is not None:
        metadata['alpha'] = args.alpha
    if args.extend:
        metadata['extended_from'] = os.path.basename(args.extend)
    save_ebvs(args.out, ebvs, metadata)
    print(f'saved {args.out}')
    # the paper's own stopping rule allows alpha + 1e-4
    slack = PAPER_TOLERANCE if args.method == 'paper' else TARGET_SLACK
    if args.alpha is not None and report.max_abs_cos > args.alpha + slack:
        print(f'generate_ebvs.py: target NOT reached: max |cos| = '
              f'{report.max_abs_cos:.6g} > --alpha {args.alpha}; the best '
              f'set found was saved anyway. Raise --time-limit or --alpha.',
              file=sys.stderr)
        return 1
    return 0


def write_kerdock(args: argparse.Namespace) -> int:
    """``--method kerdock``: save the structured form (signs + metadata)."""
    kerdock = KerdockEBVs(args.num_classes, args.dim)
    mu = print_kerdock_report(kerdock)
    save_kerdock(args.out, kerdock, dict(method='kerdock'))
    print(f'saved {args.out} (structured: {kerdock.signs.numel()} signs)')
    if args.alpha is not None and mu > args.alpha + TARGET_SLACK:
        print(f'generate_ebvs.py: target NOT reached: the Kerdock set has max '
              f'|cos| = {mu:.6g} > --alpha {args.alpha}.', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
