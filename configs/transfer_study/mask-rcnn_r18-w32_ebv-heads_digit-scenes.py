# Transfer study, Mask R-CNN with mmebv's EBV box / mask heads (as in
# mask_rcnn_r50_ebv-heads_coco.py: the box classifier scores against 11 EBVs,
# 10 digits + background, the mask predictor against the first 10 of them),
# otherwise the FC twin: same backbone choice, data and schedule.
_base_ = './mask-rcnn_r18-w32_fc-heads_digit-scenes.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(type='EBVShared2FCBBoxHead', ebv_dim=11),
        mask_head=dict(type='EBVFCNMaskHead', ebv_dim=11)))
