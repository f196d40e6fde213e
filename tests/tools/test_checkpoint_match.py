"""mmebv.engine.checkpoint_match: a checkpoint of another model is named,
grouped by top-level module; what the model's own loading resolves (older
checkpoints, DataParallel prefixes) passes."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from dense_helpers import write_config
from mmebv.core import EBVFileError
from mmebv.engine.add_classes import build_model
from mmebv.engine.checkpoint_match import (CheckedLoadHook,
                                           CheckpointMismatchError,
                                           check_checkpoint_matches,
                                           checkpoint_state_dict,
                                           compare_keys)

HEADS = {
    'ebv': "type='EBVClsHead', ebv_dim=8, num_classes={n}",
    'fc': "type='LinearClsHead', num_classes={n}",
}


def model_config(path: Path, head: str, num_classes: int = 5) -> Path:
    """A small CIFAR ResNet-18 classifier (8 base channels)."""
    return write_config(path, f"""
        _base_ = ['mmpretrain::_base_/models/resnet18_cifar.py']
        custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
        default_scope = 'mmpretrain'
        model = dict(
            backbone=dict(depth=18, base_channels=8),
            head=dict(_delete_=True, in_channels=64,
                      {HEADS[head].format(n=num_classes)}))
        """)


def model_of(tmp_path: Path, head: str, num_classes: int = 5):
    name = f'{head}{num_classes}.py'
    return build_model(Config.fromfile(str(
        model_config(tmp_path / name, head, num_classes))))


def test_own_checkpoint_matches_in_older_forms(tmp_path):
    """DataParallel's ``module.`` prefix (stripped as the Runner strips
    it), no ``ebv_recipe`` (older EBV checkpoints) and no
    ``num_batches_tracked`` all load; the model's own loading agrees."""
    model = model_of(tmp_path, 'ebv')
    state = model.state_dict()
    assert not compare_keys(model, state)
    older = {'module.' + key: value for key, value in state.items()
             if not key.endswith(('ebv_recipe', 'num_batches_tracked'))}
    check_checkpoint_matches(model, {'state_dict': older}, 'old.pth')
    fresh = model_of(tmp_path, 'ebv')
    result = fresh.load_state_dict(checkpoint_state_dict(older),
                                   strict=False)
    assert not result.unexpected_keys
    assert all(key.endswith('num_batches_tracked')
               for key in result.missing_keys)


def test_fc_checkpoint_in_an_ebv_model_is_named(tmp_path):
    """What mmengine only warned about, evaluating a random head."""
    fc_state = model_of(tmp_path, 'fc').state_dict()
    ebv_model = model_of(tmp_path, 'ebv')
    mismatch = compare_keys(ebv_model, fc_state)
    assert mismatch.describe() == (
        'head: missing head.projection.weight, head.projection.bias, '
        'head.ebv.ebvs (+1 more); unexpected head.fc.weight, head.fc.bias')
    with pytest.raises(CheckpointMismatchError) as info:
        check_checkpoint_matches(ebv_model, {'state_dict': fc_state},
                                 'fc.pth')
    message = str(info.value)
    assert message.startswith("The checkpoint 'fc.pth' does not match")
    assert mismatch.describe() in message and '\n' not in message


def test_other_shapes_are_named_and_ebv_sets_left_to_their_check(
        tmp_path):
    fc5, fc6 = model_of(tmp_path, 'fc', 5), model_of(tmp_path, 'fc', 6)
    assert compare_keys(fc6, fc5.state_dict()).describe() == (
        'head: other shape head.fc.weight (5, 64) (model (6, 64)), '
        'head.fc.bias (5,) (model (6,))')
    # Another EBV set: the EBV classifier says which and how to fix it.
    ebv5, ebv6 = model_of(tmp_path, 'ebv', 5), model_of(tmp_path, 'ebv', 6)
    assert not compare_keys(ebv6, ebv5.state_dict())
    with pytest.raises(EBVFileError, match='other EBVs'):
        ebv6.load_state_dict(ebv5.state_dict())


def test_long_mismatches_are_shortened(tmp_path):
    model = model_of(tmp_path, 'fc')
    state = {f'{module}.layer{i}.weight': torch.zeros(1)
             for module in ('a', 'b', 'c', 'd', 'e', 'f') for i in range(9)}
    text = compare_keys(model, state).describe()
    assert text.startswith('backbone: missing backbone.conv1.weight, ')
    assert '(+' in text and text.endswith('(+4 more modules)')
    assert len(text) < 600


@pytest.mark.parametrize('checkpoint, message', [
    ([1, 2], 'holds a list, not a state dict'),
    ({'state_dict': {'epoch': 3}}, 'holds no tensors'),
])
def test_not_a_model_checkpoint(tmp_path, checkpoint, message):
    with pytest.raises(CheckpointMismatchError, match=message):
        check_checkpoint_matches(model_of(tmp_path, 'fc'), checkpoint, 'x')


@pytest.fixture
def runner(tmp_path):
    """An mmengine Runner of the EBV model (no loops: the hook's load is
    what is tested)."""
    config = Config.fromfile(str(model_config(tmp_path / 'm.py', 'ebv')))
    return Runner(model=config.model, work_dir=str(tmp_path / 'work'),
                  default_scope='mmpretrain')


def test_checked_load_hook_loads_a_matching_checkpoint(tmp_path, runner):
    source = model_of(tmp_path, 'ebv')
    with torch.no_grad():
        source.head.projection.weight.fill_(0.5)
    path = tmp_path / 'ebv.pth'
    torch.save({'meta': {}, 'state_dict': source.state_dict()}, path)
    hook = CheckedLoadHook(str(path))
    runner.register_hook(hook)
    hook.before_run(runner)
    assert runner._has_loaded  # the Runner will not load load_from again
    assert torch.equal(runner.model.head.projection.weight,
                       source.head.projection.weight)


@pytest.mark.parametrize('content, message', [
    ('fc', 'does not match the model of the config: head: missing'),
    ('garbage', 'cannot be read: not a checkpoint of tensors'),
    ('ebv6', 'other EBVs'),
])
def test_checked_load_hook_refuses(tmp_path, runner, content, message):
    path = tmp_path / f'{content}.pth'
    if content == 'garbage':
        path.write_bytes(b'not a checkpoint\n' * 8)
    else:
        model = model_of(tmp_path, 'fc') if content == 'fc' else \
            model_of(tmp_path, 'ebv', 6)
        torch.save({'state_dict': model.state_dict()}, path)
    before = runner.model.head.projection.weight.clone()
    hook = CheckedLoadHook(str(path))
    runner.register_hook(hook)
    with pytest.raises((CheckpointMismatchError, EBVFileError),
                       match=message):
        hook.before_run(runner)
    if content != 'ebv6':  # refused before any weight is loaded
        assert torch.equal(runner.model.head.projection.weight, before)
