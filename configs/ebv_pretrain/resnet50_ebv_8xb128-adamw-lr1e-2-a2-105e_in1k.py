# ResNet-50 + EBV head (d = 1000), AdamW lr 1e-2, setting A2, 5 + 100 epochs.
_base_ = ['./_base_/in1k_r50_adamw_a2.py']

optim_wrapper = dict(optimizer=dict(lr=1e-2))
model = dict(head=dict(type='EBVClsHead', ebv_dim=1000, tau=0.07))
