# ResNet-50 + EBV head (d = 1000), SGD lr 0.5, A2 (A1 + label smoothing 0.1 + Mixup 0.2 / CutMix 1.0), 5 + 100 epochs.
_base_ = ['./_base_/in1k_r50_sgd_a2.py']

# EBVs: None = mmebv's own (generated from the head's settings, stored in
# the checkpoint). To train with the authors' vectors instead, convert their
# EBV_pkl/eq_1000_1000.pkl (README, "The authors' EBV files") into a folder and
# set it here.
authors_ebv_dir = None  # e.g. 'data/ebvs/authors'

model = dict(
    head=dict(
        type='EBVClsHead',
        ebv_dim=1000,
        tau=0.07,
        ebv_file=None if authors_ebv_dir is None else authors_ebv_dir +
        '/eq_1000_1000.safetensors'))
