# Swin-T with the ResNet-50 AdamW A2 recipe (AdamW lr 1e-3, 5 + 100 epochs)
# as the authors' timm swin_tiny_patch4_window7_224: drop-path 0.1; every
# Linear (the head's projection included) trunc-normal std 0.02, bias 0;
# LayerNorm weight 1, bias 0. The head's own init_cfg is cleared so that the
# model-level init reaches its Linear too.
_base_ = ['./in1k_r50_adamw_a2.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        arch='tiny',
        img_size=224,
        drop_path_rate=0.1),
    head=dict(in_channels=768, init_cfg=None),
    init_cfg=[
        dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
    ])
