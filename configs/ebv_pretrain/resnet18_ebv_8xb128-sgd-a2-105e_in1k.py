# ResNet-18 + EBV head (d = 1000), the ResNet-50 SGD A2 recipe: the EBV
# backbone of configs/upernet_r18_ebv*_ade20k.py (convert its checkpoint with
# tools/model_converters/ebv_to_backbone.py to
# work_dirs/ebv_pretrain/resnet18_ebv_backbone.pth). Not run by the authors.
_base_ = ['./resnet50_ebv_8xb128-sgd-a2-105e_in1k.py']

model = dict(backbone=dict(depth=18), head=dict(in_channels=512))
