"""Linear CKA between the layers of one model or of two models.

    python tools/analysis/cka.py CONFIG CHECKPOINT \
        [--compare CONFIG2 CHECKPOINT2] [--labels FC EBV] \
        [--layers blocks] [--split test] [--pool avg] [--max-batches N] \
        [--out-dir DIR] [--cfg-options k=v ...]

Runs every model on the same batches of the config's ``<split>_dataloader``,
records the chosen layers with forward hooks (``--layers``: ``stages``,
``blocks`` or a regex over module names), and accumulates the minibatch CKA
estimator of Nguyen et al. (2021) (memory: one batch Gram matrix per layer).
Writes ``cka.json``, ``cka.csv`` and the heatmaps ``cka.png`` to --out-dir.
"""
import argparse
import os
import sys

from mmengine.config import DictAction

from mmebv.analysis import layerwise_cka, select_layers
from mmebv.analysis.models import (build_loader, build_model, load_config,
                                   tensor_forward)
from mmebv.analysis.reports import write_cka_outputs
from mmebv.cli import ArgumentParser, UserInputError, run_tool


def parse_args(argv=None) -> argparse.Namespace:
    parser = ArgumentParser(
        description='Linear CKA between model layers (heatmaps + numbers).')
    parser.add_argument('config', help='config of model A')
    parser.add_argument('checkpoint', help='checkpoint of model A')
    parser.add_argument('--compare', nargs=2, metavar=('CONFIG', 'CKPT'),
                        help='config and checkpoint of model B')
    parser.add_argument('--labels', nargs='+', default=None,
                        help='display names (default: config file names)')
    parser.add_argument('--layers', default='blocks',
                        help="'stages', 'blocks' or a regex fully matching "
                        'module names (default: blocks)')
    parser.add_argument('--split', default='test',
                        help='dataloader of the config to use: test, val '
                        'or train (default: test)')
    parser.add_argument('--pool', default='avg', choices=('avg', 'flatten'),
                        help='how a layer output becomes a vector')
    parser.add_argument('--batch-size', type=int, default=None,
                        help='override the loader batch size (>= 4)')
    parser.add_argument('--max-batches', type=int, default=None,
                        help='stop after this many batches')
    parser.add_argument('--out-dir', default='work_dirs/cka')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides for both configs, key=value')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    specs = [(args.config, args.checkpoint)]
    if args.compare:
        specs.append(tuple(args.compare))
    labels = args.labels or [
        os.path.splitext(os.path.basename(c))[0] for c, _ in specs]
    if len(labels) != len(specs):
        raise UserInputError(f'--labels needs {len(specs)} names, got '
                             f'{len(labels)}')
    if len(set(labels)) < len(labels):
        labels = [f'{label} ({tag})' for label, tag in zip(labels, 'AB')]
    models, cfgs = [], []
    for config, checkpoint in specs:
        cfg = load_config(config, args.cfg_options)
        model = build_model(cfg, checkpoint)
        models.append((model, select_layers(model, args.layers)))
        cfgs.append(cfg)
    loader = build_loader(cfgs[0], args.split, args.batch_size)
    matrix = layerwise_cka(models, loader, tensor_forward, pool=args.pool,
                           max_batches=args.max_batches)
    info = dict(models=[dict(config=c, checkpoint=k) for c, k in specs],
                split=args.split, pool=args.pool, layers=args.layers,
                estimator='minibatch linear CKA (unbiased HSIC)')
    paths = write_cka_outputs(
        args.out_dir, labels, [layers for _, layers in models], matrix,
        info=info, title=f'Linear CKA, {args.split} split')
    for kind, path in paths.items():
        print(f'Wrote {path}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
