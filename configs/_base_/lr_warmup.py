# The 5-epoch linear lr warm-up (from 1% of the lr) that both recipes start
# with; a config lists this file among its bases and puts
# `_base_.lr_warmup_5_epochs` first in its param_scheduler.
lr_warmup_5_epochs = dict(
    type='LinearLR',
    start_factor=0.01,
    by_epoch=True,
    begin=0,
    end=5,
    convert_to_iter_based=True)
