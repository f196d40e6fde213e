# The authors' 100,000-class task (1.2M train / 600k val images, already
# 224x224), folder per class, ResNet-50 with the ImageNet SGD A1 recipe and
# FC head. Data: data/100k_classes/{train,val}/<class>/<image>.
_base_ = ['./in1k_r50_sgd_a1.py']

model = dict(head=dict(num_classes=100000))
data_preprocessor = dict(num_classes=100000)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/100k_classes',
        data_prefix='train',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/100k_classes',
        data_prefix='val',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
