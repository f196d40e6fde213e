"""The EBV engine: generation, bounds, storage and the shared classifier.

Pure PyTorch; nothing here imports OpenMMLab.
"""
from .bounds import CoherenceReport, coherence_report, lower_bound
from .classifier import EBVClassifier
from .scoring import bounded_normalize
from .trust import ebv_fingerprint
from .generate import extend_ebvs, generate_ebvs
from .predictor import EBVHeadMixin, EBVPredictor
from .errors import EBVFileError, InvalidEBVError
from .storage import load_ebvs, save_ebvs
from .validation import check_ebvs

__all__ = [
    'CoherenceReport', 'coherence_report', 'lower_bound', 'EBVClassifier',
    'ebv_fingerprint', 'extend_ebvs', 'generate_ebvs', 'EBVFileError',
    'InvalidEBVError', 'check_ebvs', 'bounded_normalize',
    'load_ebvs', 'save_ebvs', 'EBVHeadMixin', 'EBVPredictor'
]
