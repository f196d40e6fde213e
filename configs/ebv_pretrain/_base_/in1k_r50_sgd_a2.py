# Setting A2 = A1 + label smoothing 0.1 + Mixup (alpha 0.2) or CutMix
# (alpha 1.0), one of the two drawn at random for each batch.
_base_ = ['./in1k_r50_sgd_a1.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True,
            type='LabelSmoothLoss',
            label_smooth_val=0.1,
            mode='original',
            loss_weight=1.0)),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.2),
        dict(type='CutMix', alpha=1.0),
    ]))
