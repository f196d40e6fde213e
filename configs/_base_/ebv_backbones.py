# The EBV-pretrained backbones of the transfer configs: classifiers trained
# with configs/ebv_pretrain/ and converted by
# tools/model_converters/ebv_to_backbone.py to the files named here. A
# transfer config lists this file among its bases and sets its backbone from
# one of the dicts below (`_base_.<name>`); another file is one option away:
# --cfg-options model.backbone.init_cfg.checkpoint=PATH.
ebv_backbone_inits = {
    arch: dict(
        type='Pretrained',
        checkpoint=f'work_dirs/ebv_pretrain/{arch}_ebv_backbone.pth',
        prefix='backbone.')
    for arch in ('resnet50', 'resnet18', 'swin-t')
}

# mmdet's ResNet has the layout of mmpretrain's (torchvision-style) ResNet.
mmdet_ebv_resnet50 = dict(init_cfg=ebv_backbone_inits['resnet50'])
# mmseg's ResNetV1c has a deep stem; its plain ResNet has the pretraining
# layout. The model's `pretrained` must be None for init_cfg to be used.
mmseg_ebv_resnets = {
    arch: dict(type='ResNet', init_cfg=ebv_backbone_inits[arch])
    for arch in ('resnet50', 'resnet18')
}
# mmpretrain's SwinTransformer (the pretraining backbone): mmdet's and
# mmseg's ignore init_cfg.prefix and would load nothing from its checkpoint.
# The config replaces its backbone with it (_delete_) and adds its
# drop_path_rate.
ebv_swin_t = dict(
    type='mmpretrain.SwinTransformer',
    arch='tiny',
    img_size=224,
    out_indices=(0, 1, 2, 3),
    pad_small_map=True,
    init_cfg=ebv_backbone_inits['swin-t'])
# Fail at start-up unless the backbone really holds the checkpoint's weights.
pretrained_check_hooks = [dict(type='PretrainedCheckHook')]
