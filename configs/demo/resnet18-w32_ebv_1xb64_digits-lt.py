# Demo, EBV model: the FC twin with mmebv's EBVClsHead instead of
# LinearClsHead (projection 256 -> ebv_dim, cosine against 10 fixed EBVs /
# tau). Without ebv_file the head generates its EBVs (seed 0);
# tools/run_demo.py passes the file it generated and reported on.
#
# Schedule: cos / tau logits give the EBV head a much larger initial gradient
# than the FC head (~12x measured on a digit-scene Mask R-CNN); with the FC
# twin's 10-iteration warmup and no clipping the EBV model collapsed to 3-5
# classes on the real digits (top-1 29.4 %, tail 0 %). A 100-iteration warmup
# and gradient clipping (max_norm 5) gave 94.4 % (tail 88-90 %), FC 94.4 %
# (10 epochs, seed 0; README "The demo").
_base_ = ['./resnet18-w32_fc_1xb64_digits-lt.py']

model = dict(
    head=dict(type='EBVClsHead', ebv_dim=16, tau=0.07, ebv_file=None))
optim_wrapper = dict(clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0,
         end={{_base_.epochs}}, eta_min=1e-4, convert_to_iter_based=True),
]
