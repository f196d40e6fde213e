"""Test a checkpoint with any mmpretrain, mmdet or mmseg config.

    python tools/test.py CONFIG CHECKPOINT [--work-dir W]
        [--cfg-options k=v ...] [--launcher none|pytorch]

Runs the config's test loop and evaluator (``test_dataloader``,
``test_evaluator``). Without CUDA, ``--launcher pytorch`` runs on CPU (gloo).
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

import mmebv  # noqa: F401  (registers the EBV modules)
from mmebv.engine.runner import build_runner, load_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a checkpoint.')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='folder for logs and metrics')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, key=value')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.checkpoint) and '://' not in args.checkpoint:
        raise FileNotFoundError(f'Checkpoint {args.checkpoint!r} not found.')
    cfg = load_config(args.config, args.launcher, args.cfg_options,
                      args.work_dir)
    cfg.load_from = args.checkpoint
    build_runner(cfg).test()


if __name__ == '__main__':
    main()
