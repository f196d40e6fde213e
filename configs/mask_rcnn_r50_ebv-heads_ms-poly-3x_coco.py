# Mask R-CNN ResNet-50, 3x multi-scale poly, COCO, with EBV RoI heads on the
# ImageNet (FC) backbone of the upstream config: the authors' setting (box /
# mask AP 41.1 / 37.7; FC baseline 40.9 / 37.1:
# mask_rcnn_r50_fc_ms-poly-3x_coco.py). 8 GPUs x 2 images.
# Box classifier: linear layer to d = 81, cosine against 81 EBVs (80 classes +
# background) / tau 0.07. Mask predictor: 1x1 conv to d = 81 (as the authors:
# the first 80 rows of their 81 x 81 EBVs), per-pixel cosine against 80 EBVs /
# tau, sigmoid mask loss.
_base_ = './mask_rcnn_r50_fc_ms-poly-3x_coco.py'
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

model = dict(
    roi_head=dict(
        bbox_head=dict(
            type='EBVShared2FCBBoxHead',
            ebv_dim=81),
        mask_head=dict(
            type='EBVFCNMaskHead',
            ebv_dim=81)))
