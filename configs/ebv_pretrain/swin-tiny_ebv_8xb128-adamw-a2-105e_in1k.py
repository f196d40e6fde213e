# Swin-T + EBV head (d = 1000), AdamW lr 1e-3, setting A2, 5 + 100 epochs.
_base_ = ['./_base_/in1k_swin-t_adamw_a2.py']

model = dict(head=dict(type='EBVClsHead', ebv_dim=1000, tau=0.07))
