"""Coherence report and pairwise-angle histogram of one or two EBV files.

    python tools/analysis/ebv_report.py FILE [FILE2] [--out angles.png]

Prints each file's coherence report (max |cos| against the best known lower
bound) and writes the angle histograms side by side, with the band of angles
the bound allows marked, to --out (default: next to FILE, ``.png``).
"""
import argparse
import os
import sys

from mmebv.analysis.io import atomic_write_json
from mmebv.analysis.reports import write_angle_report
from mmebv.cli import ArgumentParser, UserInputError, run_tool
from mmebv.core import coherence_report, load_ebvs


def parse_args(argv=None) -> argparse.Namespace:
    parser = ArgumentParser(
        description='EBV coherence report and pairwise-angle histogram.')
    parser.add_argument('files', nargs='+', metavar='FILE',
                        help='one or two .safetensors EBV files')
    parser.add_argument('--out', default=None,
                        help='PNG to write (default: FILE with .png); the '
                        'numbers go next to it as .json')
    parser.add_argument('--bin-width', type=float, default=0.05,
                        help='histogram bin width in degrees')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if len(args.files) > 2:
        raise UserInputError(f'give one or two files, got {len(args.files)}')
    ebv_sets = []
    for path in args.files:
        ebvs, _ = load_ebvs(path)
        if ebvs.shape[0] < 2:
            raise UserInputError(f'{path!r} holds {ebvs.shape[0]} EBV(s); '
                                 f'angles need at least 2')
        print(f'== {path}\n{coherence_report(ebvs)}')
        ebv_sets.append((os.path.basename(path), ebvs))
    out = args.out or os.path.splitext(args.files[0])[0] + '_angles.png'
    summaries = write_angle_report(ebv_sets, out, args.bin_width)
    json_path = os.path.splitext(out)[0] + '.json'
    atomic_write_json(json_path, summaries)
    for summary in summaries:
        print(f"{summary['label']}: pairwise angles "
              f"{summary['min_angle_deg']:.3f}..{summary['max_angle_deg']:.3f}"
              f" deg")
    print(f'Wrote {out} and {json_path}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
