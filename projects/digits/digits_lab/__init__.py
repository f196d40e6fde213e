"""The digits lab: data and experiment code of ``make demo``
(``tools/run_demo.py``) and of the transfer-study and class-addition
benchmarks (``benchmarks/``), kept apart from the ``mmebv`` library.

- :mod:`.digits`: real handwritten digits split into a long-tailed
  pretraining set, a balanced test set and a held-out pool;
- :mod:`.digit_scenes`: detection / segmentation scenes of held-out digits;
- :mod:`.experiments`: recorded, resumable stages run through the
  repository's ``tools/train.py`` and ``tools/test.py``;
- :mod:`.logs`: mmengine's scalar logs as curves;
- :mod:`.plots`: training curves, metric bars, predictions on scenes;
- :mod:`.reporting`: the machine description, mean ± std, the demo's page.

Not installed with mmebv: the scripts put ``projects/digits`` on
``sys.path`` (see :data:`LAB_ROOT`).
"""
import os

#: ``projects/digits``: the folder that holds this package.
LAB_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The repository root (configs/, tools/).
REPO = os.path.dirname(os.path.dirname(LAB_ROOT))
