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
"""
import argparse

from mmebv.cls.converters import official_to_mmpretrain


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help="the authors' model checkpoint")
    parser.add_argument('ebv_pickle', help="the authors' pickled EBVs")
    parser.add_argument('out', help='mmpretrain checkpoint to write')
    parser.add_argument('out_ebv', help='.safetensors EBV file to write')
    parser.add_argument('--tau', type=float, default=0.07)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    summary = official_to_mmpretrain(args.checkpoint, args.ebv_pickle,
                                     args.out, args.out_ebv, tau=args.tau)
    print(f"Converted {summary['num_tensors']} tensors: "
          f"{summary['num_classes']} EBVs of d = {summary['ebv_dim']}; "
          f"dropped non-tensor entries: {summary['dropped'] or 'none'}")
    print(f'Wrote {args.out} and {args.out_ebv}')


if __name__ == '__main__':
    main()
