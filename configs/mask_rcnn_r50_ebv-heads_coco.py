# Mask R-CNN ResNet-50, 1x, COCO, with EBV RoI heads on the ImageNet (FC)
# backbone of the upstream config: the authors' setting (box / mask AP 38.3 /
# 35.2; FC baseline 38.2 / 34.7: mask_rcnn_r50_fc_coco.py). 8 GPUs x 2 images.
# Box classifier: linear layer to d = 81, cosine against 81 EBVs (80 classes +
# background) / tau 0.07. Mask predictor: 1x1 conv to d = 81 (as the authors:
# the first 80 rows of their 81 x 81 EBVs), per-pixel cosine against 80 EBVs /
# tau, sigmoid mask loss.
_base_ = './mask_rcnn_r50_fc_coco.py'
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

# EBVs: None = mmebv's own (generated: 81 x 81 for the box head, 80 x 81 for
# the mask head; stored in the checkpoint). To use the authors' vectors, convert
# their eq_81_81.pkl into a folder (README, "The authors' EBV files":
# eq_81_81.safetensors for the box head, 80 classes + background, and its first
# 80 rows as eq_81_80.safetensors for the mask head) and set it here.
authors_ebv_dir = None  # e.g. 'data/ebvs/authors'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            type='EBVShared2FCBBoxHead',
            ebv_dim=81,
            ebv_file=None if authors_ebv_dir is None else authors_ebv_dir +
            '/eq_81_81.safetensors'),
        mask_head=dict(
            type='EBVFCNMaskHead',
            ebv_dim=81,
            ebv_file=None if authors_ebv_dir is None else authors_ebv_dir +
            '/eq_81_80.safetensors')))
