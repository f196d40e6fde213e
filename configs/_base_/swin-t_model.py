# Swin-T as the authors' timm swin_tiny_patch4_window7_224: drop-path 0.1;
# every Linear (the head's projection included) trunc-normal std 0.02, bias
# 0; LayerNorm weight 1, bias 0. The head's own init_cfg is cleared so that
# the model-level init reaches its Linear too. A config lists this file among
# its bases and sets `model = _base_.swin_t_model`.
swin_t_model = dict(
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
