"""The authors' released ResNet-50 EBV model -> mmpretrain + our EBV file.

    python tools/model_converters/ebv_official_to_mmpretrain.py \
        EBV_ResNet_dim1000_SGD_epoch605.pth eq_1000_1000.pkl \
        OUT.pth OUT_ebvs.safetensors

The checkpoint is what the authors' training script saves,
``nn.DataParallel(Net()).state_dict()`` with a timm ResNet-50 at
``Net.backbone`` (keys ``module.backbone.conv1.weight`` ...; ``fc`` = the
projection 2048 -> d), or the bare ResNet keys. The EBV pickle (saved on CUDA)
is read on CPU with a restricted unpickler. Use OUT with a config whose head
has ``ebv_file=OUT_ebvs.safetensors``.

Exit codes: 0 done, 2 bad arguments or input (an input missing, empty, not
a checkpoint or tensor pickle, or not the authors' model; EBVs that do not
fit the model; an output that is an input or cannot be written), reported
in one line.
"""
import argparse
import math
import sys

from mmebv.cli import run_tool
from mmebv.cls.converters import official_to_mmpretrain


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f'expected a positive number, got {text!r}')
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help="the authors' model checkpoint")
    parser.add_argument('ebv_pickle', help="the authors' pickled EBVs")
    parser.add_argument('out', help='mmpretrain checkpoint to write')
    parser.add_argument('out_ebv', help='.safetensors EBV file to write')
    parser.add_argument('--tau', type=positive_float, default=0.07,
                        help='temperature the model was trained with')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    summary = official_to_mmpretrain(args.checkpoint, args.ebv_pickle,
                                     args.out, args.out_ebv, tau=args.tau)
    print(f"Converted {summary['num_tensors']} tensors: "
          f"{summary['num_classes']} EBVs of d = {summary['ebv_dim']}; "
          f"dropped non-tensor entries: {summary['dropped'] or 'none'}")
    print(f'Wrote {args.out} and {args.out_ebv}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
