# Semantic FPN ResNet-50, 160k, ADE20K: EBV-pretrained backbone with the
# upstream FC heads (isolates the backbone's effect; compare
# fpn_r50_fc_ade20k.py, fpn_r50_ebv_ade20k.py).
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
            type='Pretrained', checkpoint=ebv_backbone, prefix='backbone.')))
# Fail at start-up unless the backbone really holds the checkpoint's weights.
custom_hooks = [dict(type='PretrainedCheckHook')]
