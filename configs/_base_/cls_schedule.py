# Parts of the classification recipes' schedules (configs/ebv_pretrain/):
# a config lists this file among its bases and reads them as `_base_.<name>`.

# The 5-epoch linear lr warm-up (from 1% of the lr) both recipes start with:
# first in param_scheduler.
lr_warmup_5_epochs = dict(
    type='LinearLR',
    start_factor=0.01,
    by_epoch=True,
    begin=0,
    end=5,
    convert_to_iter_based=True)
# Validation every epoch keeps the best epoch's checkpoint (the top-1 the
# tables report) next to the last one: default_hooks.
keep_best_top1 = dict(
    checkpoint=dict(
        type='SafeCheckpointHook',
        interval=1,
        save_best='accuracy/top1',
        rule='greater',
        max_keep_ckpts=1))
