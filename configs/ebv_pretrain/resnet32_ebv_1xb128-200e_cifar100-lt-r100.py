# Long-tailed CIFAR-100, imbalance ratio 100, ResNet-32 + EBV head (d = 100).
_base_ = ['./_base_/cifar100-lt_r32.py']

train_dataloader = dict(dataset=dict(imbalance_ratio=100))
model = dict(head=dict(type='EBVClsHead', ebv_dim=100, tau=0.07))
