"""Recorded, resumable experiment stages driven through the repository's
tools (``tools/train.py``, ``tools/test.py``); used by ``tools/run_demo.py``
and ``benchmarks/transfer_study.py``.

Every stage stores its result as ``<root>/stages/<name>.json``: a finished
stage is reused on the next run, and an interrupted training resumes from
its last checkpoint (``tools/train.py --resume``).
"""
import glob
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
from torch import nn

from mmebv.analysis.io import atomic_write_json, atomic_write_text

from . import REPO

#: mmengine's Config parser imports through temporary modules: one at a time.
_CONFIG_LOCK = threading.Lock()


class ToolError(RuntimeError):
    """A repository tool exited with an error."""


class Stages:
    """Stages recorded under ``root``; safe to run from several threads."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.results: Dict[str, dict] = {}
        self._lock = threading.Lock()

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def span(self) -> Tuple[float, float]:
        """(first start, last finish) of the recorded stages, as Unix
        times; a record without them counts from its file's mtime."""
        starts, ends = [], []
        for name, result in self.results.items():
            end = result.get('finished') or os.path.getmtime(
                self.path('stages', f'{name}.json'))
            starts.append(result.get('started', end - result['seconds']))
            ends.append(end)
        return min(starts), max(ends)

    def check_settings(self, settings: dict) -> None:
        """Refuse to mix the results of different settings in one root."""
        path = self.path('settings.json')
        if os.path.isfile(path):
            with open(path) as f:
                saved = json.load(f)
            if saved != settings:
                raise SystemExit(
                    f'{self.root} holds a run with other settings ({saved}); '
                    f'use another --work-dir or delete it.')
        else:
            atomic_write_json(path, settings)

    def run(self, name: str, title: str, work: Callable[[], dict]) -> dict:
        """Run a stage once; a recorded result is reused."""
        path = self.path('stages', f'{name}.json')
        if os.path.isfile(path):
            with open(path) as f:
                result = json.load(f)
            print(f'== {title}: done before, reusing {path}', flush=True)
        else:
            print(f'== {title}', flush=True)
            start, started = time.perf_counter(), time.time()
            result = work()
            result['seconds'] = round(time.perf_counter() - start, 1)
            result['started'] = round(started, 1)
            result['finished'] = round(time.time(), 1)
            result['load_average'] = [round(v, 2) for v in os.getloadavg()]
            atomic_write_json(path, result)
        with self._lock:
            self.results[name] = result
        return result


def run_tool(argv: Sequence[str], log: Optional[str] = None,
             threads: Optional[int] = None) -> None:
    """Run a repository tool (path relative to the repository) with this
    Python, echoing the command; its output goes to ``log`` when given."""
    print('$ ' + ' '.join(argv) + (f'  > {log}' if log else ''), flush=True)
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
    if threads:
        env['OMP_NUM_THREADS'] = env['MKL_NUM_THREADS'] = str(threads)
    if log:
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, 'a') as out:
            done = subprocess.run([sys.executable, *argv], cwd=REPO, env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
    else:
        done = subprocess.run([sys.executable, *argv], cwd=REPO, env=env)
    if done.returncode != 0:
        where = f'see {log}' if log else 'see its output above'
        raise ToolError(
            f'{argv[0]} failed (exit status {done.returncode}); {where}. Fix '
            f'the cause and run again with the same work dir: finished '
            f'stages are reused and training resumes.')


def write_config(base: str, path: str, options: dict) -> str:
    """Dump the config ``base`` with ``options`` merged to ``path`` (the
    exact config that is run) and return ``path``."""
    from mmengine.config import Config

    with _CONFIG_LOCK:
        cfg = Config.fromfile(base)
        cfg.merge_from_dict(options)
        atomic_write_text(path, cfg.pretty_text)
    return path


def config_fingerprint(configs: Sequence[str]) -> str:
    """A short hash of the resolved text of ``configs`` (their bases
    included), recorded with a run's settings so that a work dir made with
    other configs is not silently reused."""
    from mmengine.config import Config

    digest = hashlib.sha256()
    with _CONFIG_LOCK:
        for config in configs:
            digest.update(Config.fromfile(config).pretty_text.encode())
    return digest.hexdigest()[:16]


def train(config: str, work_dir: str, log: Optional[str] = None,
          threads: Optional[int] = None) -> str:
    """Train with ``tools/train.py`` (resuming an interrupted run); return
    the last checkpoint."""
    run_tool(['tools/train.py', config, '--work-dir', work_dir, '--resume'],
             log, threads)
    with open(os.path.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def test(config: str, checkpoint: str, work_dir: str,
         log: Optional[str] = None, threads: Optional[int] = None) -> dict:
    """Evaluate ``checkpoint`` with ``tools/test.py``; return the metrics
    (mmengine's ``<work_dir>/<timestamp>/<timestamp>.json``)."""
    before = set(_test_metric_files(work_dir))
    run_tool(['tools/test.py', config, checkpoint, '--work-dir', work_dir],
             log, threads)
    new = sorted(set(_test_metric_files(work_dir)) - before)
    if not new:
        raise ToolError(f'tools/test.py wrote no metrics under {work_dir}.')
    with open(new[-1]) as f:
        return json.load(f)


def _test_metric_files(work_dir: str) -> list:
    return [p for p in glob.glob(os.path.join(work_dir, '*', '*.json'))
            if os.path.basename(p)[:-5] == os.path.basename(
                os.path.dirname(p))]


class StagedExperiment:
    """An experiment whose stages are recorded under ``work_dir``."""

    def __init__(self, work_dir: str) -> None:
        self.stages = Stages(work_dir)

    @property
    def results(self) -> Dict[str, dict]:
        return self.stages.results

    def path(self, *parts: str) -> str:
        return self.stages.path(*parts)


# The digit transfer experiments (tools/run_demo.py and
# benchmarks/transfer_study.py) ---------------------------------------------

_CONFIGS = os.path.join(REPO, 'configs')
#: Pretraining head -> classifier config on the long-tailed digits.
DIGIT_CLS_CONFIGS = {
    head: os.path.join(_CONFIGS, 'demo',
                       f'resnet18-w32_{head.lower()}_1xb64_digits-lt.py')
    for head in ('FC', 'EBV')
}
#: Dense task -> {heads: config on the digit scenes}.
DIGIT_SCENE_CONFIGS = {
    task: {heads: os.path.join(
        _CONFIGS, 'transfer_study',
        f'{model}_r18-w32_{heads.lower()}-heads_digit-scenes.py')
        for heads in ('FC', 'EBV')}
    for task, model in (('det', 'mask-rcnn'), ('seg', 'upernet'))
}
#: Held-out digits per class for the scenes (the rest: pretraining + test).
SCENE_PER_CLASS = 150
#: Linear warmup iterations of each dense task (see the configs).
WARMUP_ITERS = dict(det=100, seg=50)


def scene_finetune_options(task: str, backbone: str, scenes: str, iters: int,
                           seed: int) -> dict:
    """Options of a digit-scene config (``task`` 'det' or 'seg') that
    fine-tune the converted ``backbone`` on ``scenes`` for ``iters``
    iterations; the model is evaluated by ``tools/test.py`` afterwards, not
    when training ends."""
    options = {
        'model.backbone.init_cfg.checkpoint': backbone,
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'param_scheduler.0.end': min(WARMUP_ITERS[task], iters),
        'param_scheduler.1.end': iters,
        'default_hooks.checkpoint.interval': iters,
        'default_hooks.logger.interval': max(1, min(20, iters // 10)),
        'randomness.seed': seed,
        'val_cfg': None, 'val_dataloader': None, 'val_evaluator': None,
    }
    for split in ('train', 'test'):
        options[f'{split}_dataloader.dataset.data_root'] = scenes
    if task == 'det':
        options['test_evaluator.ann_file'] = \
            scenes + 'annotations/instances_val.json'
    return options


def check_backbone_loaded(model: nn.Module, checkpoint: str) -> dict:
    """Check that ``model.backbone`` holds every tensor of the converted
    ``checkpoint`` (``backbone.``-prefixed keys), with
    :func:`mmebv.engine.pretrained.check_pretrained_loaded`.

    Args:
        model: A detector or segmentor built from its config, its weights
            initialised (``init_weights`` loads ``Pretrained``).
        checkpoint: The backbone checkpoint of
            ``tools/model_converters/ebv_to_backbone.py``.

    Returns:
        ``dict(matched, total)``: backbone tensors equal to the checkpoint's,
        of all backbone tensors.

    Raises:
        PretrainedLoadError: Unless every backbone tensor equals the
            checkpoint's and the checkpoint holds no other backbone tensor.
    """
    from mmebv.engine.pretrained import (PretrainedLoadError,
                                         check_pretrained_loaded)

    report = check_pretrained_loaded(model.backbone, checkpoint, 'backbone.',
                                     min_loaded=1.0, name='backbone')
    total = len(model.backbone.state_dict())
    if len(report.loaded) < total or report.unexpected:
        raise PretrainedLoadError(
            f'backbone: {len(report.loaded)}/{total} tensors equal to '
            f'{checkpoint!r}, {len(report.unexpected)} checkpoint tensors '
            f'unused (e.g. {report.unexpected[:3]}): the architecture must '
            f"match the classifier's.")
    return dict(matched=len(report.loaded), total=total)


@torch.no_grad()
def predict_labels(model: nn.Module, loader) -> Tuple[torch.Tensor,
                                                      torch.Tensor]:
    """Run a classifier over a loader.

    Returns:
        (predicted, true) labels, as int64 tensors.
    """
    predicted, true = [], []
    for batch in loader:
        data = model.data_preprocessor(batch, False)
        for sample in model(**data, mode='predict'):
            predicted.append(int(sample.pred_label))
            true.append(int(sample.gt_label))
    return torch.tensor(predicted), torch.tensor(true)
