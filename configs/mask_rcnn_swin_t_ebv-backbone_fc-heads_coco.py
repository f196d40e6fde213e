# Mask R-CNN Swin-T, 1x, COCO: EBV-pretrained backbone with the upstream FC
# RoI heads (isolates the backbone's effect; compare
# mask_rcnn_swin_t_fc_coco.py, mask_rcnn_swin_t_ebv_coco.py).
_base_ = ['./mask_rcnn_swin_t_fc_coco.py', './_base_/ebv_backbones.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

model = dict(
    backbone=dict(_base_.ebv_swin_t, _delete_=True, drop_path_rate=0.2))
custom_hooks = _base_.pretrained_check_hooks
