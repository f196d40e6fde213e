# resnet50_ebv-d2000_8xb128-sgd-a2-105e_in1k.py evaluated at 256 (resize 256, centre-crop 256).
_base_ = ['../resnet50_ebv-d2000_8xb128-sgd-a2-105e_in1k.py']

val_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline_256}}))
test_dataloader = val_dataloader
