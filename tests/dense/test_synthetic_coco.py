"""The synthetic COCO set is a COCO json: every class the 80-class COCO
configs can predict has a category, so CocoMetric can write any prediction."""
from mmdet.datasets import CocoDataset
from mmdet.datasets.api_wrappers import COCO

from data_factory import CATEGORIES


def test_all_coco_categories_listed_with_coco_ids(coco_root):
    coco = COCO(str(coco_root / 'annotations' / 'instances_val2017.json'))
    classes = CocoDataset.METAINFO['classes']
    cat_ids = coco.get_cat_ids(cat_names=classes)
    assert len(cat_ids) == len(classes) == 80
    names = {c['id']: c['name'] for c in coco.load_cats(cat_ids)}
    assert names[1] == 'person' and names[90] == 'toothbrush'
    for cat_id, name, _ in CATEGORIES:
        assert names[cat_id] == name
    used = {a['category_id'] for a in coco.anns.values()}
    assert used <= {c[0] for c in CATEGORIES} and used
