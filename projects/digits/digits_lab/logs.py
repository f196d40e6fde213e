"""Read mmengine's scalar logs (``<work_dir>/*/vis_data/scalars.json``)."""
import glob
import json
import os
from typing import Dict, List, Tuple


def read_scalars(work_dir: str) -> List[dict]:
    """All records of every run in ``work_dir`` (resumed runs included),
    oldest run first."""
    paths = sorted(glob.glob(os.path.join(work_dir, '*', 'vis_data',
                                          'scalars.json')))
    if not paths:
        raise FileNotFoundError(
            f'No */vis_data/scalars.json under {work_dir!r}; was it trained '
            f'with mmengine (LocalVisBackend)?')
    records = []
    for path in paths:
        with open(path) as f:
            records.extend(json.loads(line) for line in f if line.strip())
    return records


def scalar_curve(records: List[dict], key: str,
                 x_key: str = 'step') -> List[Tuple[float, float]]:
    """Points ``(record[x_key], record[key])`` of the records holding
    ``key``; a later record at the same x (a resumed run) wins."""
    points: Dict[float, float] = {}
    for record in records:
        if key in record and x_key in record:
            points[float(record[x_key])] = float(record[key])
    return sorted(points.items())


def training_loss_by_epoch(records: List[dict],
                           key: str = 'loss') -> List[Tuple[float, float]]:
    """Mean of the logged ``key`` per epoch (training records only)."""
    sums: Dict[int, List[float]] = {}
    for record in records:
        if key in record and 'epoch' in record and 'iter' in record:
            sums.setdefault(int(record['epoch']), []).append(record[key])
    return [(float(e), sum(v) / len(v)) for e, v in sorted(sums.items())]
