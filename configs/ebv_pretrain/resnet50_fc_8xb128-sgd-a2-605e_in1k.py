# As resnet50_fc_8xb128-sgd-a2-105e_in1k.py with 5 + 600 epochs.
_base_ = ['./resnet50_fc_8xb128-sgd-a2-105e_in1k.py']

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=600,
        eta_min=0.0,
        by_epoch=True,
        begin=5,
        end=605,
        convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=605)
