# UperNet Swin-T, 160k, ADE20K: the upstream FC baseline (mmseg model zoo
# mIoU 44.41), unchanged; 8 GPUs x 2 images.
_base_ = 'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py'  # noqa

# Checkpoints as upstream, but written crash-safely: mmebv's
# SafeCheckpointHook (upstream's arguments kept; only the type changes).
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
