# Mask R-CNN ResNet-50, 1x, LVIS v1 (1203 classes, repeat-factor sampling
# t = 1e-3, multi-scale training): the upstream FC baseline (mmdet model zoo,
# configs/lvis/metafile.yml: box / mask AP 22.5 / 21.7), unchanged; 8 GPUs x
# 2 images. Evaluation needs the `lvis` package (requirements/tests.txt).
_base_ = 'mmdet::lvis/mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py'

# Checkpoints as upstream, but written crash-safely: mmebv's
# SafeCheckpointHook (upstream's arguments kept; only the type changes).
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
