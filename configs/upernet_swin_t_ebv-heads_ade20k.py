# UperNet Swin-T, 160k, ADE20K, with EBV heads on the ImageNet (FC) backbone of
# the upstream config: the authors' setting (mIoU 44.59; FC baseline 44.41:
# upernet_swin_t_fc_ade20k.py). The EBV heads (d = 150):
# configs/_base_/ebv_heads.py. Batch: 8 GPUs x 2 images, as upstream.
_base_ = ['./upernet_swin_t_fc_ade20k.py', './_base_/ebv_heads.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

model = _base_.mmseg_ebv_uper_heads
