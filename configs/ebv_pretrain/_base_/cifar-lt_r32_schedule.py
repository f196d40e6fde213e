# ResNet-32 (16/32/64 channels) and the long-tailed CIFAR schedule.
# docs/reference.md gives no CIFAR recipe; this is the usual long-tailed CIFAR
# protocol (Cao et al. 2019): batch 128, SGD lr 0.1 / momentum 0.9 / weight
# decay 2e-4, 5 linear warm-up epochs, lr x0.1 at epochs 160 and 180, 200
# epochs. Validation every epoch; the best epoch's checkpoint is kept next to
# the last one (the tables report the best epoch's top-1). The dataset bases
# add the data and the number of classes.
_base_ = [
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
    '../../_base_/cls_schedule.py',
]
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=2e-4))
param_scheduler = [
    _base_.lr_warmup_5_epochs,
    dict(
        type='MultiStepLR', by_epoch=True, milestones=[160, 180], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
default_hooks = _base_.keep_best_top1
auto_scale_lr = dict(base_batch_size=128)
