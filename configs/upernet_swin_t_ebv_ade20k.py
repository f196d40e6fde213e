# UperNet Swin-T, 160k, ADE20K, EBV all the way: EBV-pretrained backbone and
# EBV heads. Batch: 8 GPUs x 2 images, as upstream. The EBV-pretrained
# backbone: a classifier trained with configs/ebv_pretrain/ and converted by
# tools/model_converters/ebv_to_backbone.py.
_base_ = './upernet_swin_t_ebv-heads_ade20k.py'

ebv_backbone = 'work_dirs/ebv_pretrain/swin-t_ebv_backbone.pth'

# mmpretrain's SwinTransformer (the pretraining backbone), which loads the
# mmpretrain layout under init_cfg.prefix.
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.SwinTransformer',
        arch='tiny',
        img_size=224,
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        pad_small_map=True,
        init_cfg=dict(
            type='Pretrained', checkpoint=ebv_backbone, prefix='backbone.')))
# Fail at start-up unless the backbone really holds the checkpoint's weights.
custom_hooks = [dict(type='PretrainedCheckHook')]
