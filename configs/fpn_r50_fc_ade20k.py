# Semantic FPN ResNet-50, 160k, ADE20K: the upstream FC baseline,
# unchanged; 4 GPUs x 4 images.
_base_ = 'mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py'

# Checkpoints as upstream, but written crash-safely: mmebv's
# SafeCheckpointHook (upstream's arguments kept; only the type changes).
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
