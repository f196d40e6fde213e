# Mask R-CNN ResNet-50, 1x, COCO, with EBV RoI heads on the ImageNet (FC)
# backbone of the upstream config: the authors' setting (box / mask AP 38.3 /
# 35.2; FC baseline 38.2 / 34.7: mask_rcnn_r50_fc_coco.py). 8 GPUs x 2 images.
# The EBV RoI heads (d = 81): configs/_base_/ebv_heads.py.
_base_ = ['./mask_rcnn_r50_fc_coco.py', './_base_/ebv_heads.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

model = dict(roi_head=_base_.mmdet_ebv_roi_heads)
