# Mask R-CNN Swin-T, 1x, COCO: EBV-pretrained backbone with the upstream FC
# RoI heads (isolates the backbone's effect; compare
# mask_rcnn_swin_t_fc_coco.py, mask_rcnn_swin_t_ebv_coco.py).
_base_ = './mask_rcnn_swin_t_fc_coco.py'
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

ebv_backbone = 'work_dirs/ebv_pretrain/swin-t_ebv_backbone.pth'

# mmpretrain's SwinTransformer (the pretraining backbone): mmdet's ignores
# init_cfg.prefix and loads nothing from an mmpretrain checkpoint.
model = dict(
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
