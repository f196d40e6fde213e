"""Classifier checkpoint -> backbone checkpoint for transfer learning.

    python tools/model_converters/ebv_to_backbone.py IN.pth OUT.pth

OUT holds ``{'state_dict': {'backbone.<name>': Tensor}}`` only (loadable with
``torch.load(..., weights_only=True)``); use it as
``init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.')``.

Exit codes: 0 done, 2 bad arguments or input (IN missing, empty, not a
classifier checkpoint, or a pickle of anything else; OUT = IN; OUT not
writable), reported in one line.
"""
import argparse
import sys

from mmebv.cli import run_tool
from mmebv.cls.converters import classifier_to_backbone


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='trained classifier checkpoint')
    parser.add_argument('dst', help='backbone checkpoint to write')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    kept, dropped = classifier_to_backbone(args.src, args.dst)
    print(f'Kept {len(kept)} backbone tensors; dropped {len(dropped)} '
          f'entries: {", ".join(sorted(dropped)) or "none"}')
    print(f'Wrote {args.dst}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
