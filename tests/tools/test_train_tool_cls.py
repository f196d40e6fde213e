"""tools/train.py and tools/test.py run an mmpretrain config as well."""
import pytest

from dense_helpers import PYTHON, run, write_config

pytestmark = pytest.mark.slow


def test_train_and_test_mmpretrain_config(tmp_path):
    from data_factory import write_image_folder
    data = tmp_path / 'images'
    write_image_folder(str(data), num_classes=4, images_per_class=4, size=32)
    config = write_config(tmp_path / 'cls.py', f"""
        _base_ = ['mmpretrain::_base_/models/resnet18_cifar.py',
                  'mmpretrain::_base_/default_runtime.py']
        custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
        model = dict(head=dict(
            _delete_=True, type='EBVClsHead', num_classes=4, in_channels=512,
            ebv_dim=4))
        data_preprocessor = dict(num_classes=4, mean=[128.] * 3,
                                 std=[64.] * 3, to_rgb=True)
        pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
        loader = dict(
            batch_size=4, num_workers=0,
            dataset=dict(type='CustomDataset', data_root='{data}',
                         data_prefix='train', pipeline=pipeline),
            sampler=dict(type='DefaultSampler', shuffle=True))
        train_dataloader = loader
        val_dataloader = dict(loader, sampler=dict(type='DefaultSampler',
                                                   shuffle=False))
        test_dataloader = val_dataloader
        val_evaluator = dict(type='Accuracy', topk=(1, ))
        test_evaluator = val_evaluator
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
        train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
        val_cfg = dict()
        test_cfg = dict()
        default_hooks = dict(logger=dict(interval=1))
        """)
    out = run([PYTHON, 'tools/train.py', str(config), '--work-dir',
               str(tmp_path / 'work')]).stdout
    assert 'accuracy/top1' in out
    tested = run([PYTHON, 'tools/test.py', str(config),
                  str(tmp_path / 'work' / 'epoch_1.pth'), '--work-dir',
                  str(tmp_path / 'test')]).stdout
    assert 'accuracy/top1' in tested
