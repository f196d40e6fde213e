# Mask R-CNN Swin-T, 1x, COCO, EBV all the way: EBV-pretrained backbone and EBV
# RoI heads (mask_rcnn_swin_t_ebv-heads_coco.py). 8 GPUs x 2 images.
# The EBV-pretrained backbone: a classifier trained with configs/ebv_pretrain/
# and converted by tools/model_converters/ebv_to_backbone.py.
_base_ = './mask_rcnn_swin_t_ebv-heads_coco.py'

# EBVs: None = mmebv's own; a folder = the authors' converted eq_81_81 files
# (see mask_rcnn_swin_t_ebv-heads_coco.py).
authors_ebv_dir = None  # e.g. 'data/ebvs/authors'
ebv_backbone = 'work_dirs/ebv_pretrain/swin-t_ebv_backbone.pth'

# mmpretrain's SwinTransformer (the pretraining backbone): mmdet's ignores
# init_cfg.prefix and loads nothing from an mmpretrain checkpoint.
model = dict(
    roi_head=dict(
        bbox_head=dict(
            ebv_file=None if authors_ebv_dir is None else authors_ebv_dir +
            '/eq_81_81.safetensors'),
        mask_head=dict(
            ebv_file=None if authors_ebv_dir is None else authors_ebv_dir +
            '/eq_81_80.safetensors')),
    backbone=dict(
        _delete_=True,
        type='mmpretrain.SwinTransformer',
        arch='tiny',
        img_size=224,
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        pad_small_map=True,
        init_cfg=dict(
            type='Pretrained', checkpoint=ebv_backbone, prefix='backbone.')))
# Fail at start-up unless the backbone really holds the checkpoint's weights.
custom_hooks = [dict(type='PretrainedCheckHook')]
