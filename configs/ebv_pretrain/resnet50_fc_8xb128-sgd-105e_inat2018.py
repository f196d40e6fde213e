# iNaturalist 2018 (8142 classes), ResNet-50 + FC head, SGD A1 recipe.
_base_ = ['./_base_/inat2018_r50_sgd.py']
