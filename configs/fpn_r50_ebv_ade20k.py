# Semantic FPN ResNet-50, 160k, ADE20K, EBV all the way: EBV-pretrained
# backbone and EBV heads. The last 1x1 classifier of the FPNHead becomes a
# 1x1 conv to d = 150 scored per pixel against 150 EBVs / tau 0.07 (the
# authors ran no Semantic-FPN EBV model). Batch: 4 GPUs x 4 images, as
# upstream. The EBV-pretrained backbone: a classifier trained with
# configs/ebv_pretrain/ and converted by
# tools/model_converters/ebv_to_backbone.py.
_base_ = ['./fpn_r50_fc_ade20k.py', './_base_/ebv_backbones.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=_base_.mmseg_ebv_resnets['resnet50'],
    decode_head=dict(type='EBVFPNHead'))
custom_hooks = _base_.pretrained_check_hooks
