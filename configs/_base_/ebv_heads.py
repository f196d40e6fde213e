# EBV versions of the upstream dense heads, for the `_ebv-heads` configs (and
# through them the `_ebv` ones): the last classifier becomes a linear layer /
# 1x1 conv to d dims, scored by cosine against fixed EBVs / tau 0.07. A
# config lists this file among its bases and merges one of the dicts below
# into its model.

# Mask R-CNN on COCO. Box classifier: d = 81 against 81 EBVs (80 classes +
# background). Mask predictor: d = 81 against 80 EBVs (as the authors: the
# first 80 rows of their 81 x 81 EBVs), per-pixel, sigmoid mask loss.
mmdet_ebv_roi_heads = dict(
    bbox_head=dict(type='EBVShared2FCBBoxHead', ebv_dim=81),
    mask_head=dict(type='EBVFCNMaskHead', ebv_dim=81))
# UperNet: the UPerHead's and the auxiliary FCNHead's last 1x1 classifier,
# d = the number of classes (ADE20K: 150), scored per pixel.
mmseg_ebv_uper_heads = dict(
    decode_head=dict(type='EBVUPerHead'),
    auxiliary_head=dict(type='EBVFCNHead'))
