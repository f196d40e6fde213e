# Mask R-CNN ResNet-50, 3x multi-scale poly, COCO: EBV-pretrained backbone
# with the upstream FC RoI heads (isolates the backbone's effect; compare
# mask_rcnn_r50_fc_ms-poly-3x_coco.py, mask_rcnn_r50_ebv_ms-poly-3x_coco.py).
_base_ = './mask_rcnn_r50_ebv_ms-poly-3x_coco.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(type='Shared2FCBBoxHead'),
        mask_head=dict(type='FCNMaskHead')))
