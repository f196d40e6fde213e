# Mask R-CNN ResNet-50, 3x multi-scale poly, COCO: EBV-pretrained backbone
# with the upstream FC RoI heads (isolates the backbone's effect; compare
# mask_rcnn_r50_fc_ms-poly-3x_coco.py, mask_rcnn_r50_ebv_ms-poly-3x_coco.py).
_base_ = ['./mask_rcnn_r50_fc_ms-poly-3x_coco.py', './_base_/ebv_backbones.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

model = dict(backbone=_base_.mmdet_ebv_resnet50)
custom_hooks = _base_.pretrained_check_hooks
