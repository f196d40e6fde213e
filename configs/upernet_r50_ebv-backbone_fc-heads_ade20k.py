# UperNet ResNet-50, 160k, ADE20K: EBV-pretrained backbone with the upstream
# FC heads (isolates the backbone's effect; compare upernet_r50_fc_ade20k.py,
# upernet_r50_ebv_ade20k.py).
_base_ = './upernet_r50_ebv_ade20k.py'

model = dict(
    decode_head=dict(type='UPerHead'),
    auxiliary_head=dict(type='FCNHead'))
