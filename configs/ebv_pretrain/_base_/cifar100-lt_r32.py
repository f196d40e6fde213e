# Long-tailed CIFAR-100 (exponential profile) with ResNet-32, FC head.
# Leaves set ``imbalance_ratio`` (100, 50, 10) and, for EBV, the head.
_base_ = [
    'mmpretrain::_base_/datasets/cifar100_bs16.py',
    './cifar-lt_r32_schedule.py',
]
model = dict(head=dict(num_classes=100))
train_dataloader = dict(
    batch_size=128,
    dataset=dict(type='LongTailCIFAR100', imbalance_ratio=100))
