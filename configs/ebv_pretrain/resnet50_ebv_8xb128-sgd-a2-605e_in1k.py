# As resnet50_ebv_8xb128-sgd-a2-105e_in1k.py with 5 + 600 epochs.
_base_ = ['./resnet50_ebv_8xb128-sgd-a2-105e_in1k.py']

# The warm-up, then the base's cosine stretched to 600 epochs.
param_scheduler = [
    _base_.lr_warmup_5_epochs,
    dict(_base_.param_scheduler[1], T_max=600, end=605),
]
train_cfg = dict(max_epochs=605)
