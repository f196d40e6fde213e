# UperNet ResNet-50, 160k, ADE20K, EBV all the way: EBV-pretrained backbone
# and EBV heads. Batch: run on 8 GPUs x 4 images = 32 as the authors
# (tools/dist_train.sh CONFIG 8); the mmseg FC baselines ran 4 GPUs x 4 = 16
# (same per-GPU batch, same lr). The EBV-pretrained backbone: a classifier
# trained with configs/ebv_pretrain/ and converted by
# tools/model_converters/ebv_to_backbone.py.
_base_ = './upernet_r50_ebv-heads_ade20k.py'

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
