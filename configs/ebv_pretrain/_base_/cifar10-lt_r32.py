# Long-tailed CIFAR-10 (exponential profile) with ResNet-32, FC head.
# Leaves set ``imbalance_ratio`` (100, 50, 10) and, for EBV, the head.
_base_ = [
    'mmpretrain::_base_/datasets/cifar10_bs16.py',
    './cifar-lt_r32_schedule.py',
]
model = dict(head=dict(num_classes=10))
train_dataloader = dict(
    batch_size=128, dataset=dict(type='LongTailCIFAR10', imbalance_ratio=100))
