# ImageNet-1K, ResNet-50, the authors' SGD recipe, setting A1.
# Batch 1024 (8 GPUs x 128), SGD lr 0.5 / momentum 0.9 / weight decay 2e-5 on
# all parameters, 5 linear warm-up + 100 cosine epochs, AMP.
# A1 = RandomResizedCrop + flip + TrivialAugment-Wide + RandomErasing 0.1.
# Evaluation as the authors' (torchvision presets.py): the short edge resized
# to s with PIL bilinear, then a centre crop of the SAME s (no 0.875 crop
# ratio): s = 224 here, s = 256 (``test_pipeline_256``) in the eval256/
# variants. Validation every epoch; the best epoch's top-1 is kept
# (``best_accuracy_top1_epoch_*.pth``, the number the authors report) next to
# the last checkpoint.
# The head is the upstream LinearClsHead (FC); EBV leaves replace only it.
_base_ = [
    'mmpretrain::_base_/models/resnet50.py',
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
    '../../_base_/cls_schedule.py',
]
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

data_preprocessor = dict(num_classes=1000)
bgr_mean = [103.53, 116.28, 123.675]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='NumpyToPIL', to_rgb=True),
    dict(type='torchvision/TrivialAugmentWide', interpolation='bilinear'),
    dict(type='PILToNumpy', to_bgr=True),
    # torchvision erases with 0 after normalisation, i.e. the mean colour.
    dict(
        type='RandomErasing',
        erase_prob=0.1,
        mode='const',
        min_area_ratio=0.02,
        max_area_ratio=1 / 3,
        fill_color=bgr_mean),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=224,
        edge='short',
        backend='pillow',
        interpolation='bilinear'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
test_pipeline_256 = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=256,
        edge='short',
        backend='pillow',
        interpolation='bilinear'),
    dict(type='CenterCrop', crop_size=256),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=2e-5))
param_scheduler = [
    _base_.lr_warmup_5_epochs,
    dict(
        type='CosineAnnealingLR',
        T_max=100,
        eta_min=0.0,
        by_epoch=True,
        begin=5,
        end=105,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=105, val_interval=1)
default_hooks = _base_.keep_best_top1
auto_scale_lr = dict(base_batch_size=1024)
randomness = dict(seed=42)
