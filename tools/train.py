"""Train any mmpretrain, mmdet or mmseg config (with mmebv's modules).

    python tools/train.py CONFIG [--work-dir W] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm]

The config's ``default_scope`` picks the codebase; mmengine's Runner does the
rest. Without CUDA, ``--launcher pytorch`` and ``slurm`` run on CPU over
gloo.

Exit codes: 0 done, 2 bad arguments or input (a missing or unreadable config,
a missing ``--resume`` checkpoint), reported in one line.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config

import mmebv  # noqa: F401  (registers the EBV modules)
from mmebv.cli import UserInputError, input_errors, run_tool
from mmebv.engine.runner import (build_runner, load_config,
                                 parse_run_args)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model.')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='folder for logs and checkpoints')
    parser.add_argument(
        '--resume', nargs='?', const='auto',
        help='resume from CKPT, or (no value) from the latest checkpoint in '
        'the work dir')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help="scale the lr by the config's auto_scale_lr.base_batch_size")
    return parse_run_args(parser, argv)


def build_config(args: argparse.Namespace) -> Config:
    """The config with the command line's overrides applied.

    Args:
        args: The parsed command line.

    Returns:
        The config to build the Runner from.

    Raises:
        UserInputError: The config cannot be read, ``--resume`` names a
            missing file, or ``--auto-scale-lr`` lacks its base batch size.
        OSError: The config file is missing or unreadable.
    """
    if args.resume not in (None, 'auto') and '://' not in args.resume \
            and not osp.isfile(args.resume):
        raise UserInputError(
            f'--resume {args.resume!r} does not exist; pass a checkpoint '
            f'file, or --resume alone for the latest in the work dir.')
    with input_errors('config', args.config):
        cfg = load_config(args.config, args.launcher, args.cfg_options,
                          args.work_dir)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise UserInputError(
                '--auto-scale-lr needs auto_scale_lr.base_batch_size in the '
                'config (the batch size its lr was set for).')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = build_config(args)
    build_runner(cfg).train()


if __name__ == '__main__':
    sys.exit(run_tool(main))
