# Swin-T + FC head, AdamW lr 1e-3, setting A1, 5 + 100 epochs.
_base_ = ['./_base_/in1k_swin-t_adamw_a1.py']
