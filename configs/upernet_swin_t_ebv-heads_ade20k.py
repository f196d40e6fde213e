# UperNet Swin-T, 160k, ADE20K, with EBV heads on the ImageNet (FC) backbone
# of the upstream config: the authors' setting (mIoU 44.59; FC baseline
# 44.41: upernet_swin_t_fc_ade20k.py). The last 1x1 classifier of the
# UPerHead and of the auxiliary FCNHead becomes a 1x1 conv to d = 150 scored
# per pixel against 150 EBVs / tau 0.07. Batch: 8 GPUs x 2 images, as
# upstream.
_base_ = './upernet_swin_t_fc_ade20k.py'
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

model = dict(
    decode_head=dict(
        type='EBVUPerHead'),
    auxiliary_head=dict(
        type='EBVFCNHead'))
