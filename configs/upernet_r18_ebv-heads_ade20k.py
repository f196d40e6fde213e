# UperNet ResNet-18, 160k, ADE20K, with EBV heads on the ImageNet (FC) backbone
# of the upstream config: the authors' setting (mIoU 39.75; FC baseline 39.23:
# upernet_r18_fc_ade20k.py). The EBV heads (d = 150):
# configs/_base_/ebv_heads.py. Batch: run on 8 GPUs x 4 images = 32 as the
# authors (tools/dist_train.sh CONFIG 8); the mmseg FC baselines ran 4 GPUs x 4
# = 16 (same per-GPU batch, same lr).
_base_ = ['./upernet_r18_fc_ade20k.py', './_base_/ebv_heads.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
# The batch the lr is meant for; --auto-scale-lr rescales it for other setups.
auto_scale_lr = dict(enable=False, base_batch_size=32)

model = _base_.mmseg_ebv_uper_heads
