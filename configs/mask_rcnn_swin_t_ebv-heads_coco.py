# Mask R-CNN Swin-T, 1x, COCO, with EBV RoI heads on the ImageNet (FC) backbone
# of the upstream config: the authors' setting (box / mask AP 42.8 / 39.4; FC
# baseline 42.7 / 39.3: mask_rcnn_swin_t_fc_coco.py). 8 GPUs x 2 images. The
# EBV RoI heads (d = 81): configs/_base_/ebv_heads.py.
_base_ = ['./mask_rcnn_swin_t_fc_coco.py', './_base_/ebv_heads.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

model = dict(roi_head=_base_.mmdet_ebv_roi_heads)
