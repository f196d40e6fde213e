# UperNet ResNet-50, 160k, ADE20K: EBV-pretrained backbone with the upstream
# FC heads (isolates the backbone's effect; compare upernet_r50_fc_ade20k.py,
# upernet_r50_ebv_ade20k.py).
_base_ = ['./upernet_r50_fc_ade20k.py', './_base_/ebv_backbones.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
# Run on 8 GPUs x 4 images = 32 like its EBV twins (the FC baseline: 4 x 4).
auto_scale_lr = dict(enable=False, base_batch_size=32)

model = dict(pretrained=None, backbone=_base_.mmseg_ebv_resnets['resnet50'])
custom_hooks = _base_.pretrained_check_hooks
