# UperNet ResNet-50, 80k, ADE20K: the upstream FC baseline (mmseg model zoo
# mIoU 40.70), unchanged; 4 GPUs x 4 images.
_base_ = 'mmseg::upernet/upernet_r50_4xb4-80k_ade20k-512x512.py'
