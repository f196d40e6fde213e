# UperNet ResNet-18, 160k, ADE20K, with EBV heads on the ImageNet (FC)
# backbone of the upstream config: the authors' setting (mIoU 39.75; FC
# baseline 39.23: upernet_r18_fc_ade20k.py). The last 1x1 classifier of the
# UPerHead and of the auxiliary FCNHead becomes a 1x1 conv to d = 150 scored
# per pixel against 150 EBVs / tau 0.07. Batch: run on 8 GPUs x 4 images = 32
# as the authors (tools/dist_train.sh CONFIG 8); the mmseg FC baselines ran 4
# GPUs x 4 = 16 (same per-GPU batch, same lr).
_base_ = './upernet_r18_fc_ade20k.py'
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
# The batch the lr is meant for; --auto-scale-lr rescales it for other setups.
auto_scale_lr = dict(enable=False, base_batch_size=32)

model = dict(
    decode_head=dict(
        type='EBVUPerHead'),
    auxiliary_head=dict(
        type='EBVFCNHead'))
