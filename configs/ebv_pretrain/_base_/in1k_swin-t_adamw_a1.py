# Swin-T with the ResNet-50 AdamW A1 recipe (AdamW lr 1e-3, 5 + 100 epochs).
_base_ = ['./in1k_r50_adamw_a1.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        arch='tiny',
        img_size=224,
        drop_path_rate=0.2),
    head=dict(in_channels=768))
