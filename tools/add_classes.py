"""Add classes to a trained classifier, segmentor or Mask R-CNN.

    python tools/add_classes.py CONFIG CHECKPOINT --num-new M --work-dir DIR
        [--overwrite]

writes ``DIR/config.py`` (every classifier grown from N to N + M classes;
EBV heads read an extended EBV file written next to it, ``load_from`` is the
grown checkpoint) and ``DIR/checkpoint.pth`` (the grown weights). Before any
fine-tuning the grown model's logits for the old classes are the old
model's. New classes take indices N..N+M-1 (mmdet box heads keep the
background last). EBV heads gain no trainable parameter; upstream (FC)
layers gain rows initialised as upstream initialises them. Set the datasets'
class names in DIR/config.py, then fine-tune it with tools/train.py.

The outputs appear together once complete, never half-written. A DIR
holding earlier outputs (config.py, checkpoint.pth, grown EBV files; the
inputs too, when they have those names) is refused unless ``--overwrite``
is given; then the new outputs replace them only once complete.

Exit codes: 0 done, 2 bad arguments or input (config, checkpoint, a model
with no classifier the tool knows, EBVs that cannot grow as asked, more new
classes than memory holds, DIR holding earlier outputs, DIR not writable),
reported in one line.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mmebv  # noqa: E402,F401 (registers the EBV heads)
from mmebv.cli import run_tool  # noqa: E402
from mmebv.engine.add_classes import add_classes  # noqa: E402


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f'expected a positive integer, got {text!r}')
    return value


def max_cos(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(
            f'expected a number in [0, 1), got {text!r}')
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Grow a trained model by new classes (old outputs '
        'unchanged); writes DIR/config.py and DIR/checkpoint.pth.')
    parser.add_argument('config', help='the config the checkpoint was '
                        'trained with')
    parser.add_argument('checkpoint', help='the trained checkpoint')
    parser.add_argument('--num-new', type=positive_int, required=True,
                        help='number of classes to add (M >= 1)')
    parser.add_argument('--work-dir', required=True,
                        help='folder for config.py, checkpoint.pth and the '
                        'grown EBV files')
    parser.add_argument('--max-cos', type=max_cos,
                        help='fail unless every grown EBV set has max |cos| '
                        '<= this (default: no requirement, as low as the '
                        'generator gets)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the new rows (EBVs and FC init)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace earlier outputs in the work dir (once '
                        'the new ones are complete)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    summary = add_classes(args.config, args.checkpoint, args.num_new,
                          args.work_dir, max_cos=args.max_cos,
                          seed=args.seed, overwrite=args.overwrite)
    for path, head in summary['heads'].items():
        line = f'{path} ({head["type"]}): {head["old"]} -> {head["new"]} ' \
               'classes'
        if 'ebv_file' in head:
            line += (f'; EBVs in {head["ebv_dim"]} dims, max |cos| '
                     f'{head["max_abs_cos"]:.4g} (lower bound '
                     f'{head["bound"]:.4g})')
        print(line)
    print(f'Wrote {summary["config"]}\nWrote {summary["checkpoint"]}')
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
