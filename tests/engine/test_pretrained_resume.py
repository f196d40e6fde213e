"""PretrainedCheckHook in a real Runner: skipped only after a real resume.

``tools/train.py --resume`` on a fresh work dir (auto-resume on preemptible
clusters, ``tools/run_demo.py``) resumes nothing: the backbone's
``Pretrained`` checkpoint must still be checked.
"""
import pytest
import torch
from mmengine.model import BaseModel, BaseModule
from mmengine.runner import Runner
from torch import nn

import mmebv  # noqa: F401  (registers the hook; weights-only resume)
from mmebv.engine.pretrained import PretrainedLoadError
from toy_runs import ToyDataset


class Backbone(BaseModule):

    def __init__(self, init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.linear = nn.Linear(4, 2)


class ToyModel(BaseModel):

    def __init__(self, checkpoint) -> None:
        super().__init__()
        self.backbone = Backbone(init_cfg=dict(
            type='Pretrained', checkpoint=str(checkpoint),
            prefix='backbone.'))

    def forward(self, inputs, labels, mode='tensor'):
        logits = self.backbone.linear(inputs)
        if mode == 'loss':
            return dict(loss=nn.functional.cross_entropy(logits, labels))
        return logits


def backbone_checkpoint(path, layout_ok: bool):
    """A backbone checkpoint; with ``layout_ok=False`` its keys name other
    layers, so nothing of it loads (what another architecture gives)."""
    state = Backbone().state_dict()
    name = 'backbone.' if layout_ok else 'backbone.other_'
    torch.save({'state_dict': {name + k: v for k, v in state.items()}},
               str(path))
    return path


def make_runner(work_dir, checkpoint, max_iters: int, resume: bool):
    return Runner(
        model=ToyModel(checkpoint),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=4, num_workers=0,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(
            type='CheckpointHook', interval=1, by_epoch=False)),
        custom_hooks=[dict(type='PretrainedCheckHook')],
        resume=resume,
        default_scope='mmengine')


def test_resume_on_a_fresh_work_dir_still_checks(tmp_path):
    bad = backbone_checkpoint(tmp_path / 'bad.pth', layout_ok=False)
    runner = make_runner(tmp_path / 'work', bad, max_iters=1, resume=True)
    with pytest.raises(PretrainedLoadError, match='0.0% of its state'):
        runner.train()


def test_a_real_resume_skips_the_check(tmp_path):
    good = backbone_checkpoint(tmp_path / 'good.pth', layout_ok=True)
    make_runner(tmp_path / 'work', good, max_iters=1, resume=False).train()
    # The weights now come from iter_1.pth, whatever the backbone init.
    bad = backbone_checkpoint(tmp_path / 'bad.pth', layout_ok=False)
    runner = make_runner(tmp_path / 'work', bad, max_iters=2, resume=True)
    runner.train()
    assert runner.iter == 2
