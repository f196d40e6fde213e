"""Test a checkpoint with any mmpretrain, mmdet or mmseg config.

    python tools/test.py CONFIG CHECKPOINT [--work-dir W] [--out OUT]
        [--show-dir DIR] [--tta] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm]

Runs the config's test loop and evaluator (``test_dataloader``,
``test_evaluator``). Without CUDA, ``--launcher pytorch`` or ``slurm`` runs
on CPU (gloo).

The options follow the codebase of the config's ``default_scope``, as each
upstream ``tools/test.py`` does:

* ``--out``: mmpretrain and mmdet dump the predictions to a pickle file
  (``DumpResults``, ``DumpDetResults``); mmseg writes the predicted
  segmentation maps into the folder ``OUT`` (``test_evaluator.output_dir``).
* ``--show-dir``: turns on the ``visualization`` hook of ``default_hooks``.
  mmpretrain draws every test image into ``DIR``; mmdet into
  ``<work dir>/<timestamp>/DIR`` (``DIR`` itself when absolute); mmseg through
  the visualizer's backends saved under ``DIR`` (the hook's ``interval``).
* ``--tta``: wraps the model in ``cfg.tta_model`` and tests on
  ``cfg.tta_pipeline``.

The checkpoint is loaded where the Runner loads ``load_from``, and refused
unless its state-dict keys and shapes are the model's: mmengine would only
warn and evaluate randomly initialised layers.

Exit codes: 0 done, 2 bad arguments or input (a missing or unreadable config
or checkpoint, a checkpoint of another model, ``--tta`` for a config without
``tta_model`` or ``tta_pipeline``, ``--show-dir`` without a visualization
hook, an ``--out`` that is no pickle file), reported in one line.
"""
import argparse
import sys
from typing import Optional

from mmengine.config import Config, ConfigDict
from mmengine.evaluator import BaseMetric, DumpResults

import mmebv  # noqa: F401  (registers the EBV modules)
from mmebv.cli import UserInputError, input_errors, run_tool
from mmebv.engine.checkpoint_match import (CheckedLoadHook,
                                           check_checkpoint_file)
from mmebv.engine.runner import (build_runner, load_config,
                                 parse_run_args)

#: Pickle suffixes ``DumpResults`` accepts.
PICKLE_SUFFIXES = ('.pkl', '.pickle')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a checkpoint.')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='folder for logs and metrics')
    parser.add_argument(
        '--out',
        help='mmpretrain, mmdet: pickle file for the predictions; mmseg: '
        'folder for the predicted segmentation maps')
    parser.add_argument(
        '--show-dir', help='folder for images drawn with the predictions')
    parser.add_argument(
        '--tta', action='store_true',
        help="test-time augmentation with the config's tta_model and "
        'tta_pipeline')
    return parse_run_args(parser, argv)


def codebase(cfg: Config) -> str:
    """The config's ``default_scope`` (``''`` when it has none)."""
    return cfg.get('default_scope') or ''


def apply_show_dir(cfg: Config, show_dir: str) -> None:
    """Turn on the visualization hook, drawing into ``show_dir``.

    Raises:
        UserInputError: ``default_hooks`` has no ``visualization`` hook.
    """
    hooks = cfg.get('default_hooks') or {}
    if not hooks.get('visualization'):
        raise UserInputError(
            "--show-dir needs a visualization hook in the config's "
            "default_hooks, e.g. default_hooks = dict(visualization=dict("
            "type='VisualizationHook')).")
    hook = hooks['visualization']
    scope = codebase(cfg)
    if scope == 'mmpretrain':
        hook.update(enable=True, out_dir=show_dir, interval=1)
    elif scope == 'mmdet':
        hook.update(draw=True, test_out_dir=show_dir)
    elif scope == 'mmseg':
        if not cfg.get('visualizer'):
            raise UserInputError(
                '--show-dir needs a visualizer in the config, e.g. '
                "visualizer = dict(type='SegLocalVisualizer', vis_backends="
                "[dict(type='LocalVisBackend')]).")
        hook.update(draw=True)
        cfg.visualizer['save_dir'] = show_dir
    else:
        raise UserInputError(
            f'--show-dir supports mmpretrain, mmdet and mmseg configs; this '
            f'config\'s default_scope is {scope!r}.')


def apply_tta(cfg: Config) -> None:
    """Wrap the model in ``cfg.tta_model`` and test on ``cfg.tta_pipeline``.

    Raises:
        UserInputError: The config lacks ``tta_model`` or ``tta_pipeline``.
    """
    missing = [key for key in ('tta_model', 'tta_pipeline') if key not in cfg]
    if missing:
        raise UserInputError(
            f'--tta needs {" and ".join(missing)} in the config (the model '
            f'that merges the augmented predictions and the test pipeline '
            f'that augments); this config has none.')
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def apply_out(cfg: Config, out: str) -> Optional[BaseMetric]:
    """Set up ``--out``: the metric that dumps the predictions to ``out``,
    or None for mmseg, whose evaluator writes the maps into the folder.

    Raises:
        UserInputError: A dump file not ending with ``.pkl`` or ``.pickle``.
    """
    if codebase(cfg) == 'mmseg':
        evaluators = cfg.test_evaluator
        for evaluator in (evaluators if isinstance(evaluators, list) else
                          [evaluators]):
            evaluator.update(output_dir=out, keep_results=True)
        return None
    if not out.endswith(PICKLE_SUFFIXES):
        raise UserInputError(
            f'--out {out!r}: the predictions are dumped to a pickle file; '
            f'name it *.pkl or *.pickle.')
    if codebase(cfg) == 'mmdet':
        from mmdet.evaluation import DumpDetResults
        return DumpDetResults(out_file_path=out)
    return DumpResults(out_file_path=out)


def main(argv=None) -> None:
    args = parse_args(argv)
    check_checkpoint_file(args.checkpoint)
    with input_errors('config', args.config):
        cfg = load_config(args.config, args.launcher, args.cfg_options,
                          args.work_dir)
    cfg.load_from = args.checkpoint  # recorded; CheckedLoadHook loads it
    if args.show_dir:
        apply_show_dir(cfg, args.show_dir)
    if args.tta:
        apply_tta(cfg)
    dump = apply_out(cfg, args.out) if args.out else None
    runner = build_runner(cfg)
    runner.register_hook(CheckedLoadHook(args.checkpoint))
    if dump is not None:
        runner.test_evaluator.metrics.append(dump)
    runner.test()


if __name__ == '__main__':
    sys.exit(run_tool(main))
