# ResNet-50 + FC head, AdamW lr 1e-2, setting A1, 5 + 100 epochs.
_base_ = ['./_base_/in1k_r50_adamw_a1.py']

optim_wrapper = dict(optimizer=dict(lr=1e-2))
