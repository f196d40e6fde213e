# Semantic FPN ResNet-50, 160k, ADE20K: EBV-pretrained backbone with the
# upstream FC heads (isolates the backbone's effect; compare
# fpn_r50_fc_ade20k.py, fpn_r50_ebv_ade20k.py).
_base_ = ['./fpn_r50_fc_ade20k.py', './_base_/ebv_backbones.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

model = dict(pretrained=None, backbone=_base_.mmseg_ebv_resnets['resnet50'])
custom_hooks = _base_.pretrained_check_hooks
