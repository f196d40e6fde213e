# EBV dimension ablation: d = 2000 (N = 1000), SGD, A2, 5 + 100 epochs.
# d = 1000 is resnet50_ebv_8xb128-sgd-a2-105e_in1k.py.
_base_ = ['./resnet50_ebv_8xb128-sgd-a2-105e_in1k.py']

model = dict(
    head=dict(
        ebv_dim=2000))
