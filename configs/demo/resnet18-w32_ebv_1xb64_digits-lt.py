# Demo, EBV model: the FC twin with mmebv's EBVClsHead instead of
# LinearClsHead (projection 256 -> ebv_dim, cosine against 10 fixed EBVs /
# tau). Without ebv_file the head generates its EBVs (seed 0);
# tools/run_demo.py passes the file it generated and reported on.
_base_ = ['./resnet18-w32_fc_1xb64_digits-lt.py']

model = dict(
    head=dict(type='EBVClsHead', ebv_dim=16, tau=0.07, ebv_file=None))
