"""Test a checkpoint with any mmpretrain, mmdet or mmseg config.

    python tools/test.py CONFIG CHECKPOINT [--work-dir W]
        [--cfg-options k=v ...] [--launcher none|pytorch]

Runs the config's test loop and evaluator (``test_dataloader``,
``test_evaluator``). Without CUDA, ``--launcher pytorch`` runs on CPU (gloo).

The checkpoint is loaded where the Runner loads ``load_from``, and refused
unless its state-dict keys and shapes are the model's: mmengine would only
warn and evaluate randomly initialised layers.

Exit codes: 0 done, 2 bad arguments or input (a missing or unreadable config
or checkpoint, a checkpoint of another model), reported in one line.
"""
import argparse
import os
import sys

from mmengine.config import DictAction

import mmebv  # noqa: F401  (registers the EBV modules)
from mmebv.cli import input_errors, run_tool
from mmebv.engine.checkpoint_match import (CheckedLoadHook,
                                           check_checkpoint_file)
from mmebv.engine.runner import build_runner, load_config


def parse_args(argv=None) -> argparse.Namespace:
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
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    check_checkpoint_file(args.checkpoint)
    with input_errors('config', args.config):
        cfg = load_config(args.config, args.launcher, args.cfg_options,
                          args.work_dir)
    cfg.load_from = args.checkpoint  # recorded; CheckedLoadHook loads it
    runner = build_runner(cfg)
    runner.register_hook(CheckedLoadHook(args.checkpoint))
    runner.test()


if __name__ == '__main__':
    sys.exit(run_tool(main))
