# UperNet Swin-T, 160k, ADE20K: EBV-pretrained backbone with the upstream FC
# heads (isolates the backbone's effect; compare upernet_swin_t_fc_ade20k.py,
# upernet_swin_t_ebv_ade20k.py).
_base_ = ['./upernet_swin_t_fc_ade20k.py', './_base_/ebv_backbones.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

model = dict(
    backbone=dict(_base_.ebv_swin_t, _delete_=True, drop_path_rate=0.3))
custom_hooks = _base_.pretrained_check_hooks
