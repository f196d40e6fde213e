# Mask R-CNN ResNet-50, 1x, COCO, EBV all the way: EBV-pretrained backbone
# and EBV RoI heads (mask_rcnn_r50_ebv-heads_coco.py). 8 GPUs x 2 images. The
# EBV-pretrained backbone: a classifier trained with configs/ebv_pretrain/
# and converted by tools/model_converters/ebv_to_backbone.py.
_base_ = './mask_rcnn_r50_ebv-heads_coco.py'

ebv_backbone = 'work_dirs/ebv_pretrain/resnet50_ebv_backbone.pth'

# mmdet's ResNet has the layout of mmpretrain's (torchvision-style) ResNet.
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=ebv_backbone, prefix='backbone.')))
# Fail at start-up unless the backbone really holds the checkpoint's weights.
custom_hooks = [dict(type='PretrainedCheckHook')]
