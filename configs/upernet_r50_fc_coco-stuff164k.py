# UperNet ResNet-50, 80k, COCO-Stuff 164k (171 classes), FC heads: the upstream
# UperNet model on the upstream COCO-Stuff 164k dataset and 80k schedule,
# assembled as mmseg assembles its own COCO-Stuff configs (e.g.
# pspnet_r50-d8_4xb4-80k_coco-stuff164k-512x512.py). The mmseg model zoo has
# no UperNet on COCO-Stuff; its nearest FC baselines (R50-D8, 80k, 4 x 4
# images, single-scale mIoU, configs/{pspnet,deeplabv3}/metafile.yaml):
# PSPNet 38.80, DeepLabV3 39.38. 4 GPUs x 4 images.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/coco-stuff164k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=171),
    auxiliary_head=dict(num_classes=171))

# Checkpoints as upstream, but written crash-safely: mmebv's
# SafeCheckpointHook (upstream's arguments kept; only the type changes).
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
