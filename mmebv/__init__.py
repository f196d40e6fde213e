"""mmebv: Equiangular Basis Vectors (CVPR 2023) for OpenMMLab 2.x.

``import mmebv`` (or ``custom_imports=dict(imports=['mmebv'])`` in a config)
makes every mmebv module buildable from the upstream registries of each
installed codebase: mmpretrain (:mod:`mmebv.cls`), mmdet (:mod:`mmebv.det`)
and mmseg (:mod:`mmebv.seg`), and the class-incremental components of
:mod:`mmebv.incremental` for any of them. To keep the import cheap, those
packages are registered as lazy import locations of the upstream registries,
exactly as the upstream packages register their own modules, and are
imported on the first registry look-up. A missing codebase is skipped; its
mmebv package then says what to install when imported.

The EBV engine, :mod:`mmebv.core`, needs only PyTorch, NumPy and safetensors:
without mmengine installed, ``import mmebv.core`` (and
``tools/generate_ebvs.py``) work, and nothing is registered.
"""
import importlib
import importlib.util

from .version import __version__

#: upstream codebase -> the mmebv package registering into its registries
CODEBASE_PACKAGES = {
    'mmpretrain': 'mmebv.cls',
    'mmdet': 'mmebv.det',
    'mmseg': 'mmebv.seg',
}
#: mmebv packages registered with every installed codebase (recipe
#: components any codebase's config may use)
SHARED_PACKAGES = ('mmebv.incremental', )


def _register_lazily(codebase: str, package: str) -> None:
    """Add ``package`` to the import locations of ``codebase``'s registries."""
    from mmengine.registry import Registry
    upstream = importlib.import_module(f'{codebase}.registry')
    registries = [
        obj for obj in vars(upstream).values()
        if isinstance(obj, Registry) and obj._locations
    ]
    if any(registry._imported for registry in registries):
        importlib.import_module(package)  # upstream modules are loaded already
        return
    for registry in registries:
        if package not in registry._locations:
            registry._locations.append(package)


def register_all_modules() -> None:
    """Register mmebv modules into every installed codebase (idempotent)."""
    for codebase, package in CODEBASE_PACKAGES.items():
        if importlib.util.find_spec(codebase) is not None:
            _register_lazily(codebase, package)
            for shared in SHARED_PACKAGES:
                _register_lazily(codebase, shared)


try:
    import mmengine  # noqa: F401
except ImportError:  # the EBV engine alone: nothing to register into
    mmengine = None
if mmengine is not None:
    from .engine import allow_mmengine_checkpoint_types
    allow_mmengine_checkpoint_types()
    register_all_modules()

__all__ = ['__version__', 'register_all_modules', 'CODEBASE_PACKAGES']
