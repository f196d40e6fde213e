# Mask R-CNN ResNet-50, 1x, COCO, EBV all the way: EBV-pretrained backbone
# and EBV RoI heads (mask_rcnn_r50_ebv-heads_coco.py). 8 GPUs x 2 images. The
# EBV-pretrained backbone: a classifier trained with configs/ebv_pretrain/
# and converted by tools/model_converters/ebv_to_backbone.py.
_base_ = ['./mask_rcnn_r50_ebv-heads_coco.py', './_base_/ebv_backbones.py']

model = dict(backbone=_base_.mmdet_ebv_resnet50)
custom_hooks = _base_.pretrained_check_hooks
