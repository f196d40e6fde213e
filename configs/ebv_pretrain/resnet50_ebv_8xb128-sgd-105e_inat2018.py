# iNaturalist 2018 (8142 classes), ResNet-50 + EBV head, SGD A1 recipe.
# d = 1000 as for ImageNet (docs/reference.md gives no iNat d). Make
# the EBV file once: python tools/generate_ebvs.py --num-classes 8142
#     --dim 1000 --out data/ebvs/ebv_8142x1000.safetensors
_base_ = ['./_base_/inat2018_r50_sgd.py']

model = dict(
    head=dict(
        type='EBVClsHead',
        ebv_dim=1000,
        tau=0.07,
        ebv_file='data/ebvs/ebv_8142x1000.safetensors'))
