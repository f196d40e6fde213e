# Demo transfer: Mask R-CNN with EBV box/mask heads (mask_rcnn_r50_ebv_coco.py)
# shrunk to the demo's half-width ResNet-18, whose weights come from the EBV
# digits classifier (converted by tools/model_converters/ebv_to_backbone.py),
# fine-tuned for a few iterations on mmebv's synthetic COCO-format shapes
# (mmebv.synthetic.detection.make_coco_shapes). tools/run_demo.py fills in
# the paths and the number of iterations.
_base_ = '../mask_rcnn_r50_ebv_coco.py'

ebv_backbone = 'work_dirs/demo/transfer/ebv_backbone.pth'
data_root = 'work_dirs/demo/data/synthetic-det/'
width = 32  # first-stage channels of the backbone (ResNet-18: 64)
channels = 64  # FPN and RoI-head channels (ResNet-50 config: 256)
image_size = 96
iters = 20

model = dict(
    backbone=dict(
        depth=18,
        stem_channels=width,
        base_channels=width,
        init_cfg=dict(checkpoint=ebv_backbone)),
    neck=dict(
        in_channels=[width, width * 2, width * 4, width * 8],
        out_channels=channels),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels, fc_out_channels=256),
        mask_roi_extractor=dict(out_channels=channels),
        mask_head=dict(in_channels=channels, conv_out_channels=channels)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=200)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=iters,
    val_interval=iters)
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5)
]
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(by_epoch=False, interval=iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=2)
