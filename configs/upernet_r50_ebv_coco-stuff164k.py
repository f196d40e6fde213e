# UperNet ResNet-50, 80k, COCO-Stuff 164k, EBV all the way: EBV-pretrained
# backbone and the EBV heads of upernet_r50_ebv-heads_coco-stuff164k.py
# (171 EBVs in d = 128). The EBV-pretrained backbone: a classifier trained
# with configs/ebv_pretrain/ and converted by
# tools/model_converters/ebv_to_backbone.py.
_base_ = [
    './upernet_r50_ebv-heads_coco-stuff164k.py',
    './_base_/ebv_backbones.py'
]

model = dict(pretrained=None, backbone=_base_.mmseg_ebv_resnets['resnet50'])
custom_hooks = _base_.pretrained_check_hooks
