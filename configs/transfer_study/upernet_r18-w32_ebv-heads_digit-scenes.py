# Transfer study, UperNet with mmebv's EBV decode and auxiliary heads (as in
# upernet_r18_ebv-heads_ade20k.py: per-pixel cosine against 11 EBVs,
# background + 10 digits, / tau), otherwise the FC twin: same backbone
# choice, data and schedule.
_base_ = './upernet_r18-w32_fc-heads_digit-scenes.py'

model = dict(
    decode_head=dict(type='EBVUPerHead', ebv_dim=11),
    auxiliary_head=dict(type='EBVFCNHead', ebv_dim=11))
