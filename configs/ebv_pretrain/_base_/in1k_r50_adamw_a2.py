# Setting A2 with AdamW instead of SGD (the leaf sets lr: 1e-3 or 1e-2).
_base_ = ['./in1k_r50_sgd_a2.py']

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=2e-5))
