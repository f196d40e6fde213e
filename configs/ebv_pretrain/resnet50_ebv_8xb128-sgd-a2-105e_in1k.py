# ResNet-50 + EBV head (d = 1000), SGD lr 0.5, A2 (A1 + label smoothing 0.1 + Mixup 0.2 / CutMix 1.0), 5 + 100 epochs.
_base_ = ['./_base_/in1k_r50_sgd_a2.py']

model = dict(
    head=dict(
        type='EBVClsHead',
        ebv_dim=1000,
        tau=0.07))
