# UperNet Swin-T, 160k, ADE20K, EBV all the way: EBV-pretrained backbone and
# EBV heads. Batch: 8 GPUs x 2 images, as upstream. The EBV-pretrained
# backbone: a classifier trained with configs/ebv_pretrain/ and converted by
# tools/model_converters/ebv_to_backbone.py.
_base_ = ['./upernet_swin_t_ebv-heads_ade20k.py', './_base_/ebv_backbones.py']

model = dict(
    backbone=dict(_base_.ebv_swin_t, _delete_=True, drop_path_rate=0.3))
custom_hooks = _base_.pretrained_check_hooks
