# Mask R-CNN ResNet-50, 3x multi-scale poly, COCO: the upstream FC baseline
# (mmdet model zoo box / mask AP 40.9 / 37.1), unchanged; 8 GPUs x 2 images.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_ms-poly-3x_coco.py'

# Checkpoints as upstream, but written crash-safely: mmebv's
# SafeCheckpointHook (upstream's arguments kept; only the type changes).
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
