# 100,000 classes, ResNet-50 + structured EBV head: the Kerdock set in
# d = 4096 (max |cos| 1/64, pairwise angles 89.1..90.9 deg), held as 24 x 4096
# signs and scored by fast Walsh-Hadamard transforms instead of a
# 100,000 x d buffer. Otherwise the authors' d = 5000 recipe. No EBV file is
# needed (the set is rebuilt from method='kerdock'); to keep one:
# python tools/generate_ebvs.py --method kerdock --num-classes 100000
#     --dim 4096 --out data/ebvs/kerdock_100000x4096.safetensors
_base_ = ['./resnet50_ebv-d5000_8xb128-sgd-105e_100k-classes.py']

model = dict(head=dict(ebv_dim=4096, ebv_file=None, method='kerdock'))
