# Semantic FPN ResNet-50, 160k, ADE20K, EBV all the way: EBV-pretrained
# backbone and EBV heads. The last 1x1 classifier of the FPNHead becomes a
# 1x1 conv to d = 150 scored per pixel against 150 EBVs / tau 0.07 (the
# authors ran no Semantic-FPN EBV model). Batch: 4 GPUs x 4 images, as
# upstream. The EBV-pretrained backbone: a classifier trained with
# configs/ebv_pretrain/ and converted by
# tools/model_converters/ebv_to_backbone.py.
_base_ = './fpn_r50_fc_ade20k.py'
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

ebv_backbone = 'work_dirs/ebv_pretrain/resnet50_ebv_backbone.pth'

# The EBV backbone is the torchvision-style ResNet (mmpretrain's), not
# ResNetV1c: mmseg's ResNet has its layout; `pretrained` must be None to use
# init_cfg.
model = dict(
    pretrained=None,
    backbone=dict(
        type='ResNet',
        init_cfg=dict(
            type='Pretrained', checkpoint=ebv_backbone, prefix='backbone.')),
    decode_head=dict(
        type='EBVFPNHead'))
# Fail at start-up unless the backbone really holds the checkpoint's weights.
custom_hooks = [dict(type='PretrainedCheckHook')]
