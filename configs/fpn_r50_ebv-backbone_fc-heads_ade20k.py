# Semantic FPN ResNet-50, 160k, ADE20K: EBV-pretrained backbone with the
# upstream FC heads (isolates the backbone's effect; compare
# fpn_r50_fc_ade20k.py, fpn_r50_ebv_ade20k.py).
_base_ = './fpn_r50_ebv_ade20k.py'

model = dict(decode_head=dict(type='FPNHead'))
