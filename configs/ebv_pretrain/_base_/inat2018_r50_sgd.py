# iNaturalist 2018 (8142 classes), ResNet-50, FC head, with the ImageNet SGD
# A1 recipe (docs/reference.md has no separate iNat recipe). Data layout: the
# official train2018.json / val2018.json converted to mmpretrain annotation
# lists ("<path> <label>" per line) under data/inat2018/meta/.
_base_ = ['./in1k_r50_sgd_a1.py']

model = dict(head=dict(num_classes=8142))
data_preprocessor = dict(num_classes=8142)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/inat2018',
        ann_file='meta/train.txt',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/inat2018',
        ann_file='meta/val.txt',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
