# 100,000 classes, ResNet-50 + EBV head with d = 5000 (33.8M trainable
# parameters vs 228.4M for FC), SGD. Make the EBV file once:
# python tools/generate_ebvs.py --num-classes 100000 --dim 5000
#     --out data/ebvs/ebv_100000x5000.safetensors
_base_ = ['./_base_/100k_r50_sgd.py']

model = dict(
    head=dict(
        type='EBVClsHead',
        ebv_dim=5000,
        tau=0.07,
        ebv_file='data/ebvs/ebv_100000x5000.safetensors'))
