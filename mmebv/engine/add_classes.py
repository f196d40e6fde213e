"""Config and checkpoint surgery adding classes to a trained model.

:func:`add_classes` turns a config and checkpoint with N classes into a
config and checkpoint with N + M classes whose old outputs are those of the
trained model. It knows the classifiers of

* mmpretrain: ``LinearClsHead`` (``fc``) and ``EBVClsHead``;
* mmseg: every decode head's ``conv_seg`` (decode and auxiliary heads),
  upstream or EBV;
* mmdet: RoI box heads (``fc_cls`` with background last; ``fc_reg``'s four
  class-specific rows per class) and FCN mask heads (``conv_logits``),
  upstream or EBV.

EBV heads keep their trainable projection (no new parameters); their EBVs
grow with :func:`mmebv.core.grow.grow_ebvs` into a file written next to the
config. A head with reserved EBVs (``num_reserved`` K) activates them
instead: M <= K new classes take the first M reserved rows, the grown config
has ``num_classes + M`` and ``num_reserved = K - M``, and the set is the same
rows (for every head but the mmdet box heads, whose background row stays
last, the same buffer bit for bit). M > K activates all K and grows the set
by the other M - K rows (``num_reserved = 0``). Upstream (FC) layers get new
rows initialised as upstream initialises the layer (the grown model's own
``init_weights``), so the same surgery gives the FC baseline. Any other
tensor whose shape would change is refused, as is a config with a
``num_classes`` the tool does not know.

Outputs appear together when complete: into a new or empty work dir through
a staging folder renamed into place, else each through a temporary file
renamed once every output is written. A work dir holding earlier outputs
(or the inputs under the output names) is refused unless ``overwrite``.
"""
import contextlib
import copy
import fnmatch
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from torch import Tensor, nn

from mmebv.cli import UserInputError, available_memory, input_errors
from mmebv.core import EBVClassifier, save_ebvs
from mmebv.core.bounds import lower_bound, max_abs_cos
from mmebv.core.generate import TARGET_SLACK
from mmebv.core.grow import (EBVGrowthError, grow_ebvs, old_row_positions,
                             place_rows)
from mmebv.fileio import atomic_file, staged_directory
from mmebv.engine.checkpoint_match import compare_keys, unreadable_reason

#: Fixed output names, so that scripts can chain the tool.
CONFIG_NAME, CHECKPOINT_NAME = 'config.py', 'checkpoint.pth'
#: Names of the grown EBV files (``ebvs_<head path>.safetensors``).
EBV_FILE_PATTERN = 'ebvs_*.safetensors'
#: The tool holds about this many copies of the grown layers at once (the
#: grown model, the grown state, the EBV generation's work).
GROWN_COPIES = 4
#: What the tool grows, for error messages.
KNOWN = ('mmpretrain LinearClsHead and EBVClsHead, mmseg decode heads, mmdet '
         'RoI box heads and FCN mask heads, and their EBV twins')
#: Config keys of the EBV generation, replaced by the grown file.
EBV_GENERATION_KEYS = ('method', 'alpha', 'seed')


class AddClassesError(UserInputError):
    """The config, checkpoint or request cannot be grown; says why."""


@dataclass
class RowLayout:
    """How a layer's output rows belong to classes."""
    rows_per_class: int = 1
    background_last: bool = False

    def positions(self, num_classes: int, num_new: int) -> Tensor:
        return old_row_positions(num_classes, num_new, self.rows_per_class,
                                 self.background_last)


@dataclass
class Classifier:
    """A head the tool grows: its module, config path and grown layers."""
    path: str
    head: nn.Module
    num_classes: int
    layers: Dict[str, RowLayout]  # trainable layers whose rows grow
    ebv: Optional[EBVClassifier] = None
    ebv_layout: Optional[RowLayout] = None


def _upstream(module: str, name: str) -> Optional[type]:
    """``module.name`` if that codebase is installed, else None."""
    try:
        return getattr(__import__(module, fromlist=[name]), name)
    except ImportError:
        return None


def describe_classifier(path: str, head: nn.Module) -> Optional[Classifier]:
    """The growable classifier of ``head``, or None if it is not a head the
    tool knows. Raises :class:`AddClassesError` for a known head in a form
    that cannot grow (class-agnostic or single-channel output)."""
    from mmebv.core.predictor import EBVHeadMixin, EBVPredictor
    ebv_cls_head = _upstream('mmebv.cls.ebv_cls_head', 'EBVClsHead')
    linear_cls_head = _upstream('mmpretrain.models.heads', 'LinearClsHead')
    decode_head = _upstream('mmseg.models.decode_heads.decode_head',
                            'BaseDecodeHead')
    bbox_head = _upstream('mmdet.models.roi_heads.bbox_heads', 'BBoxHead')
    mask_head = _upstream('mmdet.models.roi_heads.mask_heads', 'FCNMaskHead')
    one = RowLayout()
    if ebv_cls_head and isinstance(head, ebv_cls_head):
        return Classifier(path, head, head.num_classes, {}, head.ebv, one)
    if linear_cls_head and isinstance(head, linear_cls_head):
        return Classifier(path, head, head.num_classes, {'fc': one})
    if decode_head and isinstance(head, decode_head):
        layers = {'conv_seg': one}
        if head.out_channels != head.num_classes:
            raise AddClassesError(
                f'{path} ({type(head).__name__}) has out_channels='
                f'{head.out_channels} for num_classes={head.num_classes} '
                f'(binary segmentation with a threshold): there is no '
                f'per-class row to add.')
    elif bbox_head and isinstance(head, bbox_head):
        layers = {'fc_cls': RowLayout(1, background_last=True)}
        if head.with_reg and not head.reg_class_agnostic:
            layers['fc_reg'] = RowLayout(4)
    elif mask_head and isinstance(head, mask_head):
        if head.class_agnostic:
            raise AddClassesError(
                f'{path} ({type(head).__name__}) is class-agnostic: one mask '
                f'channel serves every class, so there is nothing to grow. '
                f'Keep the head as it is and grow only the box head.')
        layers = {'conv_logits': one}
    else:
        return None
    if isinstance(head, EBVHeadMixin):
        name = type(head).ebv_layer
        predictor = getattr(head, name)
        assert isinstance(predictor, EBVPredictor)
        ebv_layout = layers.pop(name)  # the projection keeps its size
        return Classifier(path, head, head.num_classes, layers,
                          predictor.ebv, ebv_layout)
    return Classifier(path, head, head.num_classes, layers)


def find_classifiers(model: nn.Module) -> List[Classifier]:
    """Every classifier of ``model`` the tool knows (outermost heads)."""
    found = []
    for path, module in model.named_modules():
        if any(path.startswith(c.path + '.') for c in found):
            continue
        classifier = describe_classifier(path, module)
        if classifier is not None:
            found.append(classifier)
    return found


def config_node(model_cfg: dict, path: str) -> dict:
    """The config dict building the submodule at ``path`` of the model."""
    node = model_cfg
    for part in path.split('.'):
        try:
            node = node[int(part)] if part.isdigit() else node[part]
        except (KeyError, IndexError, TypeError):
            raise AddClassesError(
                f'The model has a classifier at {path!r} but the config has '
                f'no model entry there; grow a config whose model entries '
                f'mirror the module names.') from None
    return node


def _nodes_with_num_classes(node, path: str = '') -> List[str]:
    """Dotted paths of the dicts under ``node`` that set ``num_classes``."""
    if isinstance(node, dict):
        children = node.items()
    elif isinstance(node, (list, tuple)):
        children = enumerate(node)
    else:
        return []
    found = [path] if isinstance(node, dict) and 'num_classes' in node else []
    for key, value in children:
        found += _nodes_with_num_classes(value, f'{path}.{key}'.lstrip('.'))
    return found


def _strip_pretrained(node) -> None:
    """Drop ``Pretrained`` init_cfgs and ``pretrained`` paths in place: the
    grown checkpoint holds every weight."""
    if isinstance(node, dict):
        if 'pretrained' in node:
            node['pretrained'] = None
        init_cfg = node.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            node['init_cfg'] = None
        for value in node.values():
            _strip_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _strip_pretrained(value)


def build_model(cfg: Config) -> nn.Module:
    """The config's model in its codebase's scope, on CPU, in eval mode."""
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    model = MODELS.build(copy.deepcopy(cfg.model))
    return model.eval()


def load_state(checkpoint: str) -> Tuple[Dict[str, Tensor], dict]:
    """The state dict and meta of an mmengine checkpoint (or a bare state
    dict), loaded weights-only onto the CPU.

    Args:
        checkpoint: The checkpoint file.

    Returns:
        ``(state dict, meta)``.

    Raises:
        AddClassesError: The file is missing, unreadable or holds no state
            dict.
    """
    if not osp.isfile(checkpoint):
        raise AddClassesError(f'Checkpoint {checkpoint!r} does not exist.')
    try:
        obj = torch.load(checkpoint, map_location='cpu', weights_only=True)
    except (OSError, MemoryError):
        raise
    except Exception as err:  # noqa: BLE001 (unpickling raises many types)
        raise AddClassesError(
            f'{checkpoint!r} is not a readable checkpoint: '
            f'{unreadable_reason(err)}.') from None
    if isinstance(obj, dict) and isinstance(obj.get('state_dict'), dict):
        return obj['state_dict'], dict(obj.get('meta') or {})
    if isinstance(obj, dict) and obj and all(
            isinstance(v, Tensor) for v in obj.values()):
        return obj, {}
    raise AddClassesError(f'{checkpoint!r} holds no state dict.')


def load_trained(model: nn.Module, state: Dict[str, Tensor],
                 config: str, checkpoint: str) -> None:
    """Load ``state`` strictly, or say how checkpoint and config differ.

    Args:
        model: The model built from ``config``.
        state: The checkpoint's state dict.
        config: The config's path, for messages.
        checkpoint: The checkpoint's path, for messages.

    Raises:
        AddClassesError: Keys or shapes differ (named, grouped by top-level
            module), or the model refuses the state.
    """
    hint = 'Pass the config the checkpoint was trained with.'
    mismatch = compare_keys(model, state)
    if mismatch:
        raise AddClassesError(
            f'The checkpoint {checkpoint!r} does not match the config '
            f'{config!r}: {mismatch.describe()}. {hint}')
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError) as err:
        reason = ' '.join(str(err).split())
        if len(reason) > 300:
            reason = reason[:300] + '...'
        raise AddClassesError(
            f'The checkpoint {checkpoint!r} does not match the config '
            f'{config!r}: {reason} {hint}') from None


def check_known(model_cfg: dict, classifiers: List[Classifier]) -> None:
    """Raise unless every ``num_classes`` of the model config belongs to a
    classifier the tool grows (or to a data preprocessor)."""
    known = {c.path for c in classifiers}
    for path in _nodes_with_num_classes(model_cfg):
        if path not in known and not path.endswith('data_preprocessor'):
            node = config_node(model_cfg, path) if path else model_cfg
            raise AddClassesError(
                f'model.{path} ({node.get("type")}) sets num_classes but is '
                f'not a classifier this tool knows how to grow ({KNOWN}).')
    if not classifiers:
        raise AddClassesError(
            f'The model has no classifier this tool knows ({KNOWN}).')


def dense_ebvs(classifier: EBVClassifier) -> Tensor:
    """The (N, d) float32 EBVs a classifier scores against, also when it
    holds a structured (Kerdock) set."""
    structured = getattr(classifier, 'kerdock', None)
    ebvs = classifier.ebvs if structured is None else structured.dense()
    return ebvs.detach().to('cpu', torch.float32)


def reserved_left(classifier: Classifier, num_new: int) -> int:
    """Reserved EBVs left once ``num_new`` classes are added."""
    return max(getattr(classifier.ebv, 'num_reserved', 0) - num_new, 0)


def grown_ebvs(classifier: Classifier, num_new: int,
               max_cos: Optional[float], seed: int) -> Tensor:
    """The classifier's EBVs with ``num_new`` classes added, in head order
    (old rows bit-identical at their grown positions), reserved rows left
    after them.

    New classes take the reserved rows first (activation, no new vector);
    only the ones beyond them get rows grown by
    :func:`~mmebv.core.grow.grow_ebvs` after every old row.

    Raises:
        AddClassesError: the set cannot grow as asked, or (activation only)
            its max |cos| is above ``max_cos``.
    """
    ebv = classifier.ebv
    full = dense_ebvs(ebv)  # active rows, then reserved ones
    active = ebv.num_vectors
    reserved = len(full) - active
    if num_new > reserved:
        try:
            full = grow_ebvs(full, active + num_new, alpha=max_cos,
                             seed=seed)
        except EBVGrowthError as err:
            raise AddClassesError(f'{classifier.path}: {err}') from None
    elif max_cos is not None and len(full) > 1:
        mu = max_abs_cos(full)
        if mu > max_cos + TARGET_SLACK:
            raise AddClassesError(
                f'{classifier.path}: its reserved EBVs make a set of max '
                f'|cos| {mu:.4g}, above the required {max_cos}; they are '
                f'activated as they are. Allow a larger max |cos|.')
    layout = classifier.ebv_layout
    positions = layout.positions(classifier.num_classes, num_new)
    grown_active = active + num_new
    ordered = full.clone()
    new_rows = torch.ones(grown_active, dtype=torch.bool)
    new_rows[positions] = False
    ordered[positions] = full[:active]
    ordered[:grown_active][new_rows] = full[active:grown_active]
    return ordered


def grow_config(cfg: Config, classifiers: List[Classifier], num_new: int,
                ebv_files: Dict[str, str], checkpoint: str) -> Config:
    """The config with every classifier grown by ``num_new`` classes, EBV
    heads reading their grown files, and ``load_from`` the grown weights."""
    grown = copy.deepcopy(cfg)
    for classifier in classifiers:
        node = config_node(grown.model, classifier.path)
        node['num_classes'] = classifier.num_classes + num_new
        if classifier.ebv is not None:
            if getattr(classifier.ebv, 'num_reserved', 0) or \
                    'num_reserved' in node:
                node['num_reserved'] = reserved_left(classifier, num_new)
            node['ebv_dim'] = classifier.ebv.dim
            node['ebv_file'] = ebv_files[classifier.path]
            for key in EBV_GENERATION_KEYS:
                node.pop(key, None)
    for owner in (grown, grown.model):
        preprocessor = owner.get('data_preprocessor')
        if isinstance(preprocessor, dict) and 'num_classes' in preprocessor:
            preprocessor['num_classes'] += num_new
    _strip_pretrained(grown.model)
    if grown.get('custom_hooks'):
        grown.custom_hooks = [h for h in grown.custom_hooks
                              if h.get('type') != 'PretrainedCheckHook']
    grown.load_from = checkpoint
    grown.resume = False
    return grown


def grow_state(old_state: Dict[str, Tensor], grown_model: nn.Module,
               classifiers: List[Classifier],
               num_new: int) -> Dict[str, Tensor]:
    """The grown model's state: old values everywhere, old rows of the grown
    layers at their new positions, new rows as ``grown_model`` initialised
    them, and the grown EBVs (checked bit-identical on the old rows)."""
    fresh = grown_model.state_dict()
    state = {}
    grown_rows = {}
    for c in classifiers:
        for layer, layout in c.layers.items():
            for param in ('weight', 'bias'):
                grown_rows[f'{c.path}.{layer}.{param}'] = (c, layout)
    ebv_prefixes = {}
    for c in classifiers:
        if c.ebv is not None:
            name = next(n for n, m in c.head.named_modules() if m is c.ebv)
            ebv_prefixes[f'{c.path}.{name}.'] = c
    for key, value in fresh.items():
        ebv_owner = next((c for p, c in ebv_prefixes.items()
                          if key.startswith(p)), None)
        if ebv_owner is not None:
            if key.endswith('.ebvs') and key in old_state:
                positions = ebv_owner.ebv_layout.positions(
                    ebv_owner.num_classes, num_new)
                old_rows = old_state[key][:ebv_owner.ebv.num_vectors]
                assert torch.equal(value[positions], old_rows.float()), \
                    f'{key}: old EBV rows changed'
            state[key] = value  # the grown set and its fingerprint
            continue
        if key not in old_state:
            raise AddClassesError(
                f'The grown model has {key!r}, which the checkpoint lacks.')
        old = old_state[key]
        if key in grown_rows and old.shape != value.shape:
            classifier, layout = grown_rows[key]
            positions = layout.positions(classifier.num_classes, num_new)
            state[key] = place_rows(old, value, positions)
        elif old.shape == value.shape:
            state[key] = old.clone()
        else:
            raise AddClassesError(
                f'{key!r} changes shape from {tuple(old.shape)} to '
                f'{tuple(value.shape)} with the number of classes, and the '
                f'tool does not know how to grow it.')
    return state


def ebv_file_name(path: str) -> str:
    """The grown EBV file's name for the classifier at ``path``."""
    return EBV_FILE_PATTERN.replace('*', path)


def check_work_dir(work_dir: str, config: str, checkpoint: str,
                   overwrite: bool = False) -> None:
    """Raise unless outputs can go into ``work_dir`` without replacing
    anything, or ``overwrite`` allows replacing earlier outputs.

    Args:
        work_dir: The output folder (it may not exist yet).
        config: The input config, named in the message if in the way.
        checkpoint: The input checkpoint, likewise.
        overwrite: Replace earlier outputs (and inputs under the output
            names) once the new outputs are complete.

    Raises:
        AddClassesError: ``work_dir`` is (or is under) a file, or holds
            ``config.py``, ``checkpoint.pth`` or grown EBV files and not
            ``overwrite``.
    """
    existing = work_dir
    while not osp.exists(existing) and osp.dirname(existing) != existing:
        existing = osp.dirname(existing)
    if osp.exists(existing) and not osp.isdir(existing):
        where = 'is a file' if existing == work_dir else \
            f'cannot be made: {existing!r} is a file'
        raise AddClassesError(f'--work-dir {work_dir!r} {where}; give a '
                              f'folder.')
    if overwrite or not osp.isdir(work_dir):
        return
    taken = sorted(name for name in os.listdir(work_dir)
                   if name in (CONFIG_NAME, CHECKPOINT_NAME)
                   or fnmatch.fnmatch(name, EBV_FILE_PATTERN))
    if not taken:
        return
    inputs = [what for what, path in (('config', config),
                                      ('checkpoint', checkpoint))
              if osp.isfile(path) and any(
                  osp.samefile(path, osp.join(work_dir, name))
                  for name in taken)]
    held = f' (the input {" and ".join(inputs)})' if inputs else ''
    raise AddClassesError(
        f'--work-dir {work_dir!r} already holds {", ".join(taken)}{held}; '
        f'the outputs would replace them. Choose a new --work-dir, or pass '
        f'--overwrite to replace them once the new outputs are complete.')


def grown_bytes(classifiers: List[Classifier], num_new: int) -> int:
    """Bytes of the grown classifier layers and EBV sets.

    Args:
        classifiers: The classifiers to grow.
        num_new: Classes added.

    Returns:
        The size of the grown tensors (Python int: no overflow).
    """
    total = 0
    for c in classifiers:
        for layer, layout in c.layers.items():
            module = c.head.get_submodule(layer)
            for param in (module.weight, getattr(module, 'bias', None)):
                if param is None:
                    continue
                per_row = param[0].numel() * param.element_size()
                total += (param.shape[0] + num_new * layout.rows_per_class) \
                    * per_row
        if c.ebv is not None:
            total += (c.num_classes + num_new + reserved_left(c, num_new)) \
                * c.ebv.dim * 4
    return total


def _gib(size: int) -> str:
    return f'{size / 2**30:.3g} GiB'


def check_memory(classifiers: List[Classifier], num_new: int,
                 available: Optional[int] = None) -> None:
    """Refuse a growth whose tensors cannot fit in memory, before any is
    allocated.

    Args:
        classifiers: The classifiers to grow.
        num_new: Classes added.
        available: Bytes available (default:
            :func:`mmebv.cli.available_memory`).

    Raises:
        AddClassesError: The grown layers, in the copies the tool holds,
            need more than ``available``; the message names ``num_new``.
    """
    available = available_memory() if available is None else available
    if available is None:
        return
    need = GROWN_COPIES * grown_bytes(classifiers, num_new)
    if need > available:
        largest = max(c.num_classes for c in classifiers) + num_new
        raise AddClassesError(
            f'--num-new {num_new} is too large: up to {largest} classes need '
            f'about {_gib(need)} of memory for the grown layers, and '
            f'{_gib(available)} is available. Add fewer classes.')


@contextlib.contextmanager
def staged_outputs(work_dir: str,
                   names: Sequence[str]) -> Iterator[Dict[str, str]]:
    """Yield a path to write for each output name; the outputs appear in
    ``work_dir`` under those names when the block succeeds, nothing when it
    raises.

    A new or empty ``work_dir`` is written as a staging folder renamed into
    place; otherwise each output is a temporary file next to its final
    name, renamed once the block has written them all.

    Args:
        work_dir: The output folder.
        names: File names of the outputs.

    Yields:
        ``{name: path to write}``.
    """
    if not osp.isdir(work_dir) or not os.listdir(work_dir):
        with staged_directory(work_dir) as staging:
            yield {name: osp.join(staging, name) for name in names}
        return
    with contextlib.ExitStack() as stack:
        yield {
            name: stack.enter_context(
                atomic_file(osp.join(work_dir, name),
                            suffix=osp.splitext(name)[1]))
            for name in names
        }


def add_classes(config: str,
                checkpoint: str,
                num_new: int,
                work_dir: str,
                max_cos: Optional[float] = None,
                seed: int = 0,
                overwrite: bool = False) -> Dict[str, object]:
    """Write ``work_dir/config.py`` and ``work_dir/checkpoint.pth``: the
    model of ``config`` and ``checkpoint`` with ``num_new`` more classes.

    New classes take the indices after the old ones (mmdet box heads: before
    the background row, which stays last). Every output appears when all
    are complete (see :func:`staged_outputs`); a failure leaves
    ``work_dir`` as it was.

    Args:
        config: The config the checkpoint was trained with.
        checkpoint: The trained checkpoint.
        num_new: Classes to add (>= 1).
        work_dir: The output folder.
        max_cos: Required max |cos| of every grown EBV set (None: none).
        seed: Seed of the new rows.
        overwrite: Replace earlier outputs in ``work_dir`` (inputs among
            them are read first and replaced only by complete outputs).

    Returns:
        A summary: output paths and, per head, old and new class counts and
        for EBV heads the grown set's file, max |cos| and lower bound.

    Raises:
        AddClassesError: The input cannot be grown as asked, or
            ``work_dir`` holds earlier outputs and not ``overwrite``.
        OSError: An input cannot be read or an output written.
    """
    if isinstance(num_new, bool) or not isinstance(num_new, int) \
            or num_new < 1:
        raise AddClassesError(f'num_new must be a positive integer (the '
                              f'number of classes to add), got {num_new!r}.')
    if not osp.isfile(config):
        raise AddClassesError(f'Config {config!r} does not exist.')
    work_dir = osp.abspath(work_dir)
    check_work_dir(work_dir, config, checkpoint, overwrite)
    with input_errors('config', config):
        cfg = Config.fromfile(config)
        model = build_model(cfg)
    state, meta = load_state(checkpoint)
    load_trained(model, state, config, checkpoint)
    classifiers = find_classifiers(model)
    check_known(cfg.model, classifiers)
    check_memory(classifiers, num_new)

    ebv_names = {c.path: ebv_file_name(c.path) for c in classifiers
                 if c.ebv is not None}
    final = {name: osp.join(work_dir, name)
             for name in (CONFIG_NAME, CHECKPOINT_NAME, *ebv_names.values())}
    summary = dict(config=final[CONFIG_NAME],
                   checkpoint=final[CHECKPOINT_NAME], heads={})
    grown = {c.path: grown_ebvs(c, num_new, max_cos, seed)
             for c in classifiers if c.ebv is not None}
    with staged_outputs(work_dir, list(final)) as staged:
        for c in classifiers:
            entry = dict(type=type(c.head).__name__, old=c.num_classes,
                         new=c.num_classes + num_new)
            if c.ebv is not None:
                ebvs, name = grown[c.path], ebv_names[c.path]
                mu, bound = max_abs_cos(ebvs), lower_bound(*ebvs.shape)
                left = reserved_left(c, num_new)
                activated = min(num_new, c.ebv.num_reserved)
                save_ebvs(staged[name], ebvs, dict(
                    method='grown', grown_from=f'{checkpoint}:{c.path}',
                    old_rows=c.num_classes, activated=activated,
                    num_reserved=left, max_abs_cos=mu, bound=bound))
                entry.update(ebv_file=final[name], ebv_dim=c.ebv.dim,
                             max_abs_cos=mu, bound=bound,
                             activated=activated, num_reserved=left)
            summary['heads'][c.path] = entry

        # Built from the staged EBV files; the written config names the
        # final ones.
        staged_files = {p: staged[n] for p, n in ebv_names.items()}
        staged_cfg = grow_config(cfg, classifiers, num_new, staged_files,
                                 summary['checkpoint'])
        torch.manual_seed(seed)
        grown_model = build_model(staged_cfg)
        grown_model.init_weights()
        grown_state = grow_state(state, grown_model, classifiers, num_new)
        grown_model.load_state_dict(grown_state, strict=True)  # self-check

        meta = dict(meta, add_classes=dict(
            source_config=osp.abspath(config),
            source_checkpoint=osp.abspath(checkpoint), num_new=num_new,
            heads={p: dict(old=e['old'], new=e['new'])
                   for p, e in summary['heads'].items()}))
        with open(staged[CHECKPOINT_NAME], 'wb') as f:
            torch.save(dict(meta=meta, state_dict=grown_state), f)
        final_files = {p: final[n] for p, n in ebv_names.items()}
        grown_cfg = grow_config(cfg, classifiers, num_new, final_files,
                                summary['checkpoint'])
        grown_cfg.dump(staged[CONFIG_NAME])
    return summary
