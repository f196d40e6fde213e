"""Small helpers for the codebase-specific packages."""
import importlib.util

#: pip requirement of each upstream codebase (kept in sync with
#: requirements/mminstall.txt by tests/foundation/test_registration.py)
CODEBASE_REQUIREMENTS = {
    'mmpretrain': 'mmpretrain>=1.2.0,<1.3.0',
    'mmdet': 'mmdet>=3.3.0,<3.4.0',
    'mmseg': 'mmsegmentation>=1.2.2,<1.3.0',
}


def require_codebase(codebase: str, package: str) -> None:
    """Raise a clear ImportError when ``codebase`` is not installed."""
    if importlib.util.find_spec(codebase) is None:
        raise ImportError(
            f'{package} extends {codebase}, which is not installed. Install '
            f'it with: pip install "{CODEBASE_REQUIREMENTS[codebase]}" '
            f'(or: mim install "{CODEBASE_REQUIREMENTS[codebase]}").')
