# Demo transfer: UperNet with EBV decode and auxiliary heads
# (upernet_r18_ebv_ade20k.py) shrunk to the demo's half-width ResNet-18, whose
# weights come from the EBV digits classifier (converted by
# tools/model_converters/ebv_to_backbone.py), fine-tuned for a few iterations
# on mmebv's synthetic ADE20K-format shapes
# (mmebv.synthetic.segmentation.make_ade20k_shapes). tools/run_demo.py fills
# in the paths and the number of iterations.
_base_ = '../upernet_r18_ebv_ade20k.py'

ebv_backbone = 'work_dirs/demo/transfer/ebv_backbone.pth'
data_root = 'work_dirs/demo/data/synthetic-seg/'
width = 32  # first-stage channels of the backbone (ResNet-18: 64)
channels = 64  # decode-head channels
image_size = 96
iters = 20

model = dict(
    data_preprocessor=dict(size=(image_size, image_size)),
    backbone=dict(
        stem_channels=width,
        base_channels=width,
        norm_cfg=dict(type='BN', requires_grad=True),
        init_cfg=dict(checkpoint=ebv_backbone)),
    decode_head=dict(
        in_channels=[width, width * 2, width * 4, width * 8],
        channels=channels,
        norm_cfg=dict(type='BN', requires_grad=True)),
    auxiliary_head=dict(
        in_channels=width * 4,
        channels=channels // 2,
        norm_cfg=dict(type='BN', requires_grad=True)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_iters=iters, val_interval=iters)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=iters,
         by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(by_epoch=False, interval=iters, max_keep_ckpts=1))
