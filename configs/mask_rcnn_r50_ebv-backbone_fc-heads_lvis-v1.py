# Mask R-CNN ResNet-50, 1x, LVIS v1: EBV-pretrained backbone with the
# upstream FC RoI heads (isolates the backbone's effect; compare
# mask_rcnn_r50_fc_lvis-v1.py, mask_rcnn_r50_ebv_lvis-v1.py).
_base_ = ['./mask_rcnn_r50_fc_lvis-v1.py', './_base_/ebv_backbones.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

model = dict(backbone=_base_.mmdet_ebv_resnet50)
custom_hooks = _base_.pretrained_check_hooks
