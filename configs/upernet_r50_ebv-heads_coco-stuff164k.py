# UperNet ResNet-50, 80k, COCO-Stuff 164k, with EBV heads on the ImageNet (FC)
# backbone of the upstream model (FC twin: upernet_r50_fc_coco-stuff164k.py).
# N > d: the last 1x1 classifier of the UPerHead and of the auxiliary FCNHead
# becomes a 1x1 conv to d = 128 scored per pixel against 171 EBVs / tau 0.07.
# Why d = 128: the generator's default (`auto`) places 171 vectors in 128 dims
# at max |cos| 0.0475 (min angle 87.3 deg; 1.07x the Welch bound 0.0445)
# within seconds, while in 64 dims the bound is 0.099 (`auto` reaches 0.110), and
# d >= 171 is the trivial orthonormal regime. The classifiers shrink from
# 512 x 171 to 512 x 128 (decode) and 256 x 171 to 256 x 128 (auxiliary).
_base_ = './upernet_r50_fc_coco-stuff164k.py'
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)

ebv_dim = 128
model = dict(
    decode_head=dict(type='EBVUPerHead', ebv_dim=ebv_dim),
    auxiliary_head=dict(type='EBVFCNHead', ebv_dim=ebv_dim))
