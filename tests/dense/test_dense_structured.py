"""Dense heads with ``method='kerdock'``: same outputs and gradients as the
same EBVs held densely (box head on RoI vectors, decode head per pixel)."""
import torch
from mmdet.registry import MODELS as DET_MODELS
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS as SEG_MODELS

import mmebv.det  # noqa: F401
import mmebv.seg  # noqa: F401
from mmebv.core import generate_ebvs, save_ebvs


def build(registry, scope, cfg):
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg)
    model.init_weights()
    return model


def twins(registry, scope, cfg, num_ebvs, dim, tmp_path):
    """The head with structured EBVs and with the same EBVs from a file."""
    path = str(tmp_path / 'dense.safetensors')
    save_ebvs(path, generate_ebvs(num_ebvs, dim, method='kerdock'))
    fast = build(registry, scope, dict(cfg, ebv_dim=dim, method='kerdock'))
    dense = build(registry, scope, dict(cfg, ebv_dim=dim, ebv_file=path))
    state = {k: v for k, v in fast.state_dict().items() if '.ebv.' not in k}
    dense.load_state_dict(state, strict=False)
    return fast, dense


def assert_same_outputs_and_grads(fast, dense, outputs, inputs):
    results = []
    for model in (fast, dense):
        model.zero_grad()
        out = outputs(model, inputs)
        weights = torch.linspace(-1, 1, out.numel()).reshape(out.shape)
        (out * weights).sum().backward()
        grad = next(p.grad for n, p in model.named_parameters()
                    if n.endswith('projection.weight'))
        results.append((out.detach(), grad))
    (out_f, grad_f), (out_d, grad_d) = results
    assert float((out_f - out_d).abs().max()) <= 1e-4 * float(
        out_d.abs().max())
    assert float((grad_f - grad_d).abs().max()) <= 1e-4 * float(
        grad_d.abs().max())


def test_box_head(tmp_path):
    cfg = dict(type='EBVShared2FCBBoxHead', in_channels=8, fc_out_channels=32,
               roi_feat_size=7, num_classes=20)
    fast, dense = twins(DET_MODELS, 'mmdet', cfg, 21, 16, tmp_path)
    assert fast.fc_cls.ebv.kerdock.signs.shape == (1, 16)
    torch.manual_seed(0)
    assert_same_outputs_and_grads(fast, dense, lambda m, x: m(x)[0],
                                  torch.randn(6, 8, 7, 7))


def test_decode_head_per_pixel(tmp_path):
    cfg = dict(type='EBVFCNHead', in_channels=32, in_index=2, num_convs=1,
               concat_input=False, channels=16, num_classes=40,
               dropout_ratio=0.0, norm_cfg=dict(type='BN'),
               align_corners=False)
    fast, dense = twins(SEG_MODELS, 'mmseg', cfg, 40, 16, tmp_path)
    fast.eval(), dense.eval()
    torch.manual_seed(0)
    feats = [torch.randn(2, c, 32 // 2**i, 32 // 2**i)
             for i, c in enumerate([8, 16, 32, 64])]
    assert_same_outputs_and_grads(fast, dense, lambda m, x: m(x), feats)
