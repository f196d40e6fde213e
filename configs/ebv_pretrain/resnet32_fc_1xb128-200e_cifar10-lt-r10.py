# Long-tailed CIFAR-10, imbalance ratio 10, ResNet-32 + FC head.
_base_ = ['./_base_/cifar10-lt_r32.py']

train_dataloader = dict(dataset=dict(imbalance_ratio=10))
