# Mask R-CNN ResNet-50, 1x, COCO: EBV-pretrained backbone with the upstream
# FC RoI heads (isolates the backbone's effect; compare
# mask_rcnn_r50_fc_coco.py, mask_rcnn_r50_ebv_coco.py).
_base_ = './mask_rcnn_r50_fc_coco.py'
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

ebv_backbone = 'work_dirs/ebv_pretrain/resnet50_ebv_backbone.pth'

# mmdet's ResNet has the layout of mmpretrain's (torchvision-style) ResNet.
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=ebv_backbone, prefix='backbone.')))
# Fail at start-up unless the backbone really holds the checkpoint's weights.
custom_hooks = [dict(type='PretrainedCheckHook')]
