"""The EBV predictor of dense heads and the mixin that installs it.

Pure PyTorch: the mmdet box and mask heads and the mmseg
decode heads all use it, so each idea exists once.
"""
from typing import Optional

from torch import Tensor, nn

from .classifier import EBVClassifier, check_num_reserved


def check_positive_int(name: str, value: object) -> None:
    """Raise ``ValueError('name=value must be a positive integer')`` (the
    wording of the upstream heads) unless ``value`` is a positive int."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f'{name}={value!r} must be a positive integer')


def resolve_ebv_dim(num_classes: int, ebv_dim: Optional[int]) -> int:
    """The EBV dimension d of every mmebv head: ``ebv_dim``, or
    ``num_classes`` when it is None.

    One rule for the classification and the dense heads. d = N is the
    authors' choice wherever they did not study d (ImageNet 1000 x 1000, COCO
    81 x 81, ADE20K 150 x 150), gives exactly orthogonal EBVs, and leaves an
    EBV head with the same required arguments as its upstream twin
    (``LinearClsHead(num_classes, in_channels)``). Set ``ebv_dim`` below N to
    save parameters with many classes (100,000 classes: d = 5000). A head
    with reserved EBVs passes their total N + K: d = the number of EBVs.
    """
    check_positive_int('num_classes', num_classes)
    if ebv_dim is None:
        return num_classes
    check_positive_int('ebv_dim', ebv_dim)
    return ebv_dim


class EBVPredictor(nn.Module):
    """A trainable projection to ``ebv_dim`` scored against fixed EBVs.

    ``spatial=False``: ``nn.Linear`` on (B, C) vectors; ``spatial=True``: a
    1x1 ``nn.Conv2d`` on (B, C, H, W) maps, scored per pixel. The output holds
    ``num_classes`` logits (cosine / ``tau``) where the input held ``C``.

    Args:
        in_channels (int): Input channels C.
        num_classes (int): Number of EBVs N (one per output class).
        spatial (bool): Whether the input is a feature map.
        ebv_dim (int, optional): EBV dimension d. Defaults to None
            (``num_classes + num_reserved``; see :func:`resolve_ebv_dim`).
        tau (float): Temperature dividing the cosine similarities. Defaults
            to 0.07.
        ebv_file (str, optional): ``.safetensors`` EBV file
            (``tools/generate_ebvs.py``), or a folder holding
            ``eq_{d}_{N}.safetensors``. Defaults to None (generated from
            ``method``, ``alpha`` and ``seed``).
        method (str): EBV generation method when no file is given. Defaults
            to ``'auto'``.
        alpha (float, optional): Target max |cos| when generating. Defaults
            to None (the method's default).
        seed (int): Generation seed. Defaults to 0.
        num_reserved (int): Extra EBVs K for future classes, generated with
            the active ones as one (N + K) x d set. Defaults to 0.
        reserved_in_logits (bool): Whether the output also scores the
            reserved rows (N + K channels). Defaults to False (N channels).
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 spatial: bool,
                 ebv_dim: Optional[int] = None,
                 tau: float = 0.07,
                 ebv_file: Optional[str] = None,
                 method: str = 'auto',
                 alpha: Optional[float] = None,
                 seed: int = 0,
                 num_reserved: int = 0,
                 reserved_in_logits: bool = False) -> None:
        super().__init__()
        check_positive_int('num_classes', num_classes)
        ebv_dim = resolve_ebv_dim(
            num_classes + check_num_reserved(num_reserved), ebv_dim)
        self.channel_dim = 1 if spatial else -1
        self.projection = (nn.Conv2d(in_channels, ebv_dim, kernel_size=1)
                           if spatial else nn.Linear(in_channels, ebv_dim))
        self.ebv = EBVClassifier(
            num_classes, ebv_dim, tau=tau, ebv_file=ebv_file, method=method,
            alpha=alpha, seed=seed, num_reserved=num_reserved,
            reserved_in_logits=reserved_in_logits)

    def forward(self, x: Tensor) -> Tensor:
        """Logits of shape ``x.shape`` with N channels instead of C."""
        return self.ebv(self.projection(x), channel_dim=self.channel_dim)


class EBVHeadMixin:
    """Turns an upstream head's last classifier layer into an EBVPredictor.

    Put it first in the bases of an upstream head and name the layer in
    ``ebv_layer``. The upstream ``__init__`` runs unchanged (with all its
    arguments and checks); then the ``nn.Linear``/``nn.Conv2d`` it built under
    that name is replaced by an :class:`EBVPredictor` with the same input
    channels and one EBV per output channel. Losses, activations and
    post-processing keep consuming those outputs as before.

    Args:
        *args: Positional arguments of the upstream head.
        ebv_dim (int, optional): EBV dimension d. Defaults to None (d = the
            number of outputs of the replaced layer, plus ``num_reserved``).
        tau (float): Temperature dividing the cosines. Defaults to 0.07.
        ebv_file (str, optional): ``.safetensors`` EBV file, or a folder
            holding ``eq_{d}_{N}.safetensors``. Defaults to None (generated
            from ``method``, ``alpha``, ``seed``).
        method (str): EBV generation method. Defaults to ``'auto'``.
        alpha (float, optional): Target max |cos| when generating. Defaults
            to None (the method's default).
        seed (int): Generation seed. Defaults to 0.
        num_reserved (int): Extra EBVs K for future classes, held after the
            active ones in one set and masked out of the outputs. Defaults
            to 0.
        reserved_in_logits (bool): Must stay False: the upstream losses and
            post-processing fix the number of output channels. Defaults to
            False.
        **kwargs: Keyword arguments of the upstream head.

    Raises:
        ValueError: the upstream head has no such layer, or a single-output
            one (binary or class-agnostic), a bad EBV argument, or
            ``reserved_in_logits=True``.
        EBVFileError: ``ebv_file`` is missing, damaged, invalid or of
            another shape.
    """

    ebv_layer: str = ''

    def __init__(self,
                 *args,
                 ebv_dim: Optional[int] = None,
                 tau: float = 0.07,
                 ebv_file: Optional[str] = None,
                 method: str = 'auto',
                 alpha: Optional[float] = None,
                 seed: int = 0,
                 num_reserved: int = 0,
                 reserved_in_logits: bool = False,
                 **kwargs) -> None:
        name = f'{type(self).__name__}.{self.ebv_layer}'
        if reserved_in_logits:
            raise ValueError(
                f'{name}: reserved_in_logits=True is not supported by dense '
                f'heads, whose upstream losses and post-processing fix the '
                f'number of output channels; reserved EBVs are always masked '
                f'out of their outputs. Keep reserved_in_logits=False.')
        super().__init__(*args, **kwargs)
        layer = getattr(self, self.ebv_layer, None)
        if isinstance(layer, nn.Linear):
            in_channels, out_channels = layer.in_features, layer.out_features
        elif isinstance(layer, nn.Conv2d) and layer.kernel_size == (1, 1):
            in_channels, out_channels = layer.in_channels, layer.out_channels
        else:
            raise TypeError(
                f'{name}: expected the upstream head to build an nn.Linear or '
                f'a 1x1 nn.Conv2d there, got {type(layer).__name__}; EBVs '
                f'replace only a plain final classifier (check with_cls / '
                f'predictor configs).')
        if out_channels < 2:
            raise ValueError(
                f'{name}: the upstream layer has {out_channels} output '
                f'channel; EBVs need one vector per class. Class-agnostic '
                f'masks and single-channel binary segmentation are not '
                f'supported: use the upstream head, or per-class outputs.')
        setattr(
            self, self.ebv_layer,
            EBVPredictor(
                in_channels, out_channels,
                spatial=isinstance(layer, nn.Conv2d), ebv_dim=ebv_dim,
                tau=tau, ebv_file=ebv_file, method=method, alpha=alpha,
                seed=seed, num_reserved=num_reserved))
