# Mask R-CNN Swin-T, 1x, COCO: EBV-pretrained backbone with the upstream FC
# RoI heads (isolates the backbone's effect; compare
# mask_rcnn_swin_t_fc_coco.py, mask_rcnn_swin_t_ebv_coco.py).
_base_ = './mask_rcnn_swin_t_ebv_coco.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(type='Shared2FCBBoxHead'),
        mask_head=dict(type='FCNMaskHead')))
