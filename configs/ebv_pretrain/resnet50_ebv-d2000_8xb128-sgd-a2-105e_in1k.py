# EBV dimension ablation: d = 2000 (N = 1000), SGD, A2, 5 + 100 epochs.
# d = 1000 is resnet50_ebv_8xb128-sgd-a2-105e_in1k.py.
_base_ = ['./resnet50_ebv_8xb128-sgd-a2-105e_in1k.py']

# EBVs: None = mmebv's own (generated from the head's settings, stored in
# the checkpoint). To train with the authors' vectors instead, convert their
# EBV_pkl/eq_2000_1000.pkl (README, "The authors' EBV files") into a folder and
# set it here.
authors_ebv_dir = None  # e.g. 'data/ebvs/authors'

model = dict(
    head=dict(
        ebv_dim=2000,
        ebv_file=None if authors_ebv_dir is None else authors_ebv_dir +
        '/eq_2000_1000.safetensors'))
