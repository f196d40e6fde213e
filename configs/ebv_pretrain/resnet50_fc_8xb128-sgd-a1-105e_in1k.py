# ResNet-50 + FC head (LinearClsHead), SGD lr 0.5, A1 (TrivialAugment-Wide + RandomErasing 0.1), 5 + 100 epochs.
_base_ = ['./_base_/in1k_r50_sgd_a1.py']
