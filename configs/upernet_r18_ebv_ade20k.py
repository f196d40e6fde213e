# UperNet ResNet-18, 160k, ADE20K, EBV all the way: EBV-pretrained backbone
# and EBV heads. Batch: run on 8 GPUs x 4 images = 32 as the authors
# (tools/dist_train.sh CONFIG 8); the mmseg FC baselines ran 4 GPUs x 4 = 16
# (same per-GPU batch, same lr). The EBV-pretrained backbone: a classifier
# trained with configs/ebv_pretrain/ and converted by
# tools/model_converters/ebv_to_backbone.py.
_base_ = ['./upernet_r18_ebv-heads_ade20k.py', './_base_/ebv_backbones.py']

model = dict(pretrained=None, backbone=_base_.mmseg_ebv_resnets['resnet18'])
custom_hooks = _base_.pretrained_check_hooks
