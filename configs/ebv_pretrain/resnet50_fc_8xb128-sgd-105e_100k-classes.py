# 100,000 classes, ResNet-50 + FC head (228.4M trainable parameters), SGD.
_base_ = ['./_base_/100k_r50_sgd.py']
