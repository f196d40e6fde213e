# Long-tailed CIFAR-10, imbalance ratio 50, ResNet-32 + EBV head (d = 10).
_base_ = ['./_base_/cifar10-lt_r32.py']

train_dataloader = dict(dataset=dict(imbalance_ratio=50))
model = dict(head=dict(type='EBVClsHead', ebv_dim=10, tau=0.07))
