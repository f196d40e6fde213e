# Mask R-CNN Swin-T, 1x, COCO: the upstream FC baseline (mmdet model zoo box /
# mask AP 42.7 / 39.3), unchanged; 8 GPUs x 2 images.
_base_ = 'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py'

# Checkpoints as upstream, but written crash-safely: mmebv's
# SafeCheckpointHook (upstream's arguments kept; only the type changes).
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
