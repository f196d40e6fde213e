# 100,000 classes, ResNet-50 + FC head, AdamW lr 1e-3 (SGD FC fails to
# train here: 1.29% top-1; AdamW 30.25%).
_base_ = ['./_base_/100k_r50_sgd.py']

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=2e-5))
