# Swin-T (configs/_base_/swin-t_model.py: as the authors' timm
# swin_tiny_patch4_window7_224) with the ResNet-50 AdamW A2 recipe (AdamW lr
# 1e-3, 5 + 100 epochs).
_base_ = ['./in1k_r50_adamw_a2.py', '../../_base_/swin-t_model.py']

model = _base_.swin_t_model
