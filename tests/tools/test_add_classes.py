"""tools/add_classes.py: grown classifiers, segmentors and Mask R-CNNs keep
their old logits before fine-tuning; bad input exits 2 with a clear error."""
import contextlib
import importlib.util
import io
from pathlib import Path

import pytest
import torch

from dense_helpers import CONFIGS, PYTHON, REPO, run, write_config

from mmebv.cli import run_tool
from mmebv.core.bounds import max_abs_cos
from mmebv.core.storage import load_ebvs
from mmebv.engine.add_classes import add_classes, build_model, load_state
from mmengine.config import Config

#: Tolerance of logits compared across two separately built models (the
#: same float32 operations; margins for BLAS blocking of a wider output).
ATOL = 1e-4


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'add_classes_tool', REPO / 'tools' / 'add_classes.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cls_config(path: Path, head: str, num_classes: int = 5) -> Path:
    heads = {
        'ebv': f"type='EBVClsHead', ebv_dim=8, num_classes={num_classes}",
        'ebv-small': f"type='EBVClsHead', ebv_dim=4, "
                     f"num_classes={num_classes}",
        'kerdock': f"type='EBVClsHead', ebv_dim=16, method='kerdock', "
                   f"num_classes={num_classes}",
        'fc': f"type='LinearClsHead', num_classes={num_classes}",
        'stacked': f"type='StackedLinearClsHead', mid_channels=[16], "
                   f"num_classes={num_classes}",
    }
    return write_config(path, f"""
        _base_ = ['mmpretrain::_base_/models/resnet18_cifar.py',
                  'mmpretrain::_base_/default_runtime.py']
        custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
        model = dict(
            backbone=dict(depth=18, base_channels=8),
            head=dict(_delete_=True, in_channels=64, {heads[head]}))
        data_preprocessor = dict(num_classes={num_classes}, mean=[128.] * 3,
                                 std=[64.] * 3, to_rgb=True)
        """)


def seg_config(path: Path, heads: str) -> Path:
    base = {'ebv': 'upernet_r18_ebv-heads_ade20k.py',
            'fc': 'upernet_r18_fc_ade20k.py'}[heads]
    ebv = "ebv_dim=4, " if heads == 'ebv' else ''
    return write_config(path, f"""
        _base_ = '{CONFIGS / base}'
        norm_cfg = dict(type='BN', requires_grad=True)
        model = dict(
            data_preprocessor=dict(size=(32, 32)),
            backbone=dict(norm_cfg=norm_cfg, base_channels=16,
                          stem_channels=16),
            decode_head=dict(in_channels=[16, 32, 64, 128], channels=16,
                             num_classes=6, {ebv}norm_cfg=norm_cfg),
            auxiliary_head=dict(in_channels=64, channels=8, num_classes=6,
                                {ebv}norm_cfg=norm_cfg))
        """)


def det_config(path: Path, heads: str) -> Path:
    base = {'ebv': 'mask_rcnn_r50_ebv-heads_coco.py',
            'fc': 'mask_rcnn_r50_fc_coco.py'}[heads]
    ebv = "ebv_dim=4, " if heads == 'ebv' else ''
    return write_config(path, f"""
        _base_ = '{CONFIGS / base}'
        model = dict(
            backbone=dict(depth=18, init_cfg=None),
            neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
            rpn_head=dict(in_channels=32, feat_channels=32),
            roi_head=dict(
                bbox_roi_extractor=dict(out_channels=32),
                bbox_head=dict(in_channels=32, fc_out_channels=32,
                               num_classes=3, {ebv}),
                mask_roi_extractor=dict(out_channels=32),
                mask_head=dict(in_channels=32, conv_out_channels=16,
                               num_classes=3, {ebv})))
        """)


def write_checkpoint(config: Path, out: Path, seed: int = 0) -> Path:
    """The config's model with random non-trivial weights, saved as an
    mmengine checkpoint."""
    model = build_model(Config.fromfile(str(config)))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point() and not name.endswith('ebvs'):
                if name.endswith('running_var'):
                    tensor.copy_(torch.rand(tensor.shape, generator=gen) + .5)
                else:
                    tensor.copy_(0.1 * torch.randn(tensor.shape,
                                                   generator=gen))
    torch.save({'meta': {'epoch': 3}, 'state_dict': model.state_dict()},
               str(out))
    return out


def grown_pair(tmp_path: Path, config: Path, num_new: int = 3):
    """(old model, grown model, summary), both loaded from their files."""
    checkpoint = write_checkpoint(config, tmp_path / 'old.pth')
    summary = add_classes(str(config), str(checkpoint), num_new,
                          str(tmp_path / 'grown'))
    assert summary['config'] == str(tmp_path / 'grown' / 'config.py')
    assert summary['checkpoint'] == str(tmp_path / 'grown' / 'checkpoint.pth')
    old = build_model(Config.fromfile(str(config)))
    old.load_state_dict(load_state(str(checkpoint))[0])
    grown_cfg = Config.fromfile(summary['config'])
    assert grown_cfg.load_from == summary['checkpoint']
    grown = build_model(grown_cfg)
    grown.load_state_dict(load_state(summary['checkpoint'])[0], strict=True)
    return old, grown, summary


def assert_old_logits_kept(old, grown) -> None:
    """The grown 8-class classifier scores classes 0-4 as the old one."""
    inputs = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        before = old(inputs, mode='tensor')
        after = grown(inputs, mode='tensor')
    assert before.shape == (4, 5) and after.shape == (4, 8)
    torch.testing.assert_close(after[:, :5], before, atol=ATOL, rtol=0)


@pytest.mark.parametrize('head', ['ebv', 'ebv-small', 'fc'])
def test_classifier_keeps_old_logits(tmp_path, head):
    config = cls_config(tmp_path / 'cls.py', head)
    old, grown, summary = grown_pair(tmp_path, config)
    assert_old_logits_kept(old, grown)
    grown_cfg = Config.fromfile(summary['config'])
    assert grown_cfg.model.head.num_classes == 8
    assert grown_cfg.data_preprocessor.num_classes == 8
    if head == 'fc':
        # upstream LinearClsHead init: Normal(std=0.01), bias 0
        new_rows = grown.head.fc.weight[5:]
        assert 0.003 < float(new_rows.std()) < 0.03
        assert torch.equal(grown.head.fc.bias[5:], torch.zeros(3))
        assert 'ebv_file' not in grown_cfg.model.head
    else:
        ebvs, meta = load_ebvs(grown_cfg.model.head.ebv_file)
        assert torch.equal(ebvs[:5], old.head.ebv.ebvs)
        assert meta['old_rows'] == '5'
        assert grown.head.projection.weight.shape == \
            old.head.projection.weight.shape  # no new trainable parameter
        # 8 <= d = 8: orthonormal completion; 8 > d = 4: optimised rows
        assert max_abs_cos(ebvs) < (1e-5 if head == 'ebv' else 0.6)


@pytest.mark.parametrize('heads', ['ebv', 'fc'])
def test_segmentor_keeps_old_logits(tmp_path, heads):
    config = seg_config(tmp_path / 'seg.py', heads)
    old, grown, summary = grown_pair(tmp_path, config, num_new=2)
    inputs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        feats = old.extract_feat(inputs)
        assert all(torch.equal(a, b)
                   for a, b in zip(feats, grown.extract_feat(inputs)))
        for name in ('decode_head', 'auxiliary_head'):
            before = getattr(old, name)(feats)
            after = getattr(grown, name)(feats)
            assert before.shape[1] == 6 and after.shape[1] == 8
            torch.testing.assert_close(after[:, :6], before, atol=ATOL,
                                       rtol=0)
    assert set(summary['heads']) == {'decode_head', 'auxiliary_head'}


@pytest.mark.parametrize('heads', ['ebv', 'fc'])
def test_mask_rcnn_keeps_old_logits(tmp_path, heads):
    config = det_config(tmp_path / 'det.py', heads)
    old, grown, summary = grown_pair(tmp_path, config, num_new=2)
    rois = torch.randn(5, 32, 7, 7)
    mask_rois = torch.randn(5, 32, 14, 14)
    with torch.no_grad():
        cls_old, reg_old = old.roi_head.bbox_head(rois)
        cls_new, reg_new = grown.roi_head.bbox_head(rois)
        masks_old = old.roi_head.mask_head(mask_rois)
        masks_new = grown.roi_head.mask_head(mask_rois)
    assert cls_old.shape == (5, 4) and cls_new.shape == (5, 6)
    # classes 0-2 keep their columns; the background stays last
    torch.testing.assert_close(cls_new[:, :3], cls_old[:, :3], atol=ATOL,
                               rtol=0)
    torch.testing.assert_close(cls_new[:, 5], cls_old[:, 3], atol=ATOL,
                               rtol=0)
    assert reg_old.shape == (5, 12) and reg_new.shape == (5, 20)
    torch.testing.assert_close(reg_new[:, :12], reg_old, atol=ATOL, rtol=0)
    assert masks_new.shape[1] == 5
    torch.testing.assert_close(masks_new[:, :3], masks_old, atol=ATOL,
                               rtol=0)
    grown_cfg = Config.fromfile(summary['config'])
    assert grown_cfg.model.roi_head.bbox_head.num_classes == 5
    if heads == 'fc':  # mmdet's init of fc_reg: Normal(std=0.001)
        new_reg = grown.roi_head.bbox_head.fc_reg.weight[12:]
        assert 3e-4 < float(new_reg.std()) < 3e-3


def test_kerdock_set_grows_along_its_construction(tmp_path):
    """A structured Kerdock head (the LVIS configs' EBVs) grows into the
    next rows of the same Kerdock set: max |cos| stays 1/sqrt(16)."""
    from mmebv.core.generate import generate_ebvs
    config = cls_config(tmp_path / 'cls.py', 'kerdock', num_classes=20)
    old, grown, summary = grown_pair(tmp_path, config, num_new=5)
    inputs = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        before = old(inputs, mode='tensor')
        after = grown(inputs, mode='tensor')
    torch.testing.assert_close(after[:, :20], before, atol=ATOL, rtol=0)
    ebvs, _ = load_ebvs(summary['heads']['head']['ebv_file'])
    assert torch.equal(ebvs, generate_ebvs(25, 16, method='kerdock'))
    assert summary['heads']['head']['max_abs_cos'] == pytest.approx(0.25)


def test_grown_ebv_config_drops_the_generation_arguments(tmp_path):
    config = write_config(tmp_path / 'cls.py', f"""
        _base_ = '{cls_config(tmp_path / 'base.py', 'ebv-small')}'
        model = dict(head=dict(seed=3))
        """)
    checkpoint = write_checkpoint(config, tmp_path / 'old.pth')
    summary = add_classes(str(config), str(checkpoint), 1,
                          str(tmp_path / 'grown'))
    head = Config.fromfile(summary['config']).model.head
    assert 'seed' not in head and head.ebv_dim == 4


# Bad input: exit code 2 and a message saying what is wrong.


def _run_tool(capsys, *argv) -> str:
    """Run the tool's main as its command line does; exit code 2 and one
    error line, which is returned.

    Only stderr is redirected: mmengine's logger, when created here, keeps
    the (session-wide) stdout, not a capture closed after the test.
    """
    tool = _load_tool()
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = run_tool(lambda: tool.main([str(a) for a in argv]),
                        prog='add_classes.py')
    err = stderr.getvalue()
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[-3000:]
    assert lines[0].startswith('add_classes.py: error:'), err
    return err


def test_mismatched_checkpoint(tmp_path, capsys):
    checkpoint = write_checkpoint(cls_config(tmp_path / 'a.py', 'ebv', 5),
                                  tmp_path / 'a.pth')
    other = cls_config(tmp_path / 'b.py', 'ebv', 6)
    err = _run_tool(capsys, other, checkpoint, '--num-new', 1,
                    '--work-dir', tmp_path / 'out')
    assert 'does not match the config' in err
    assert not (tmp_path / 'out' / 'checkpoint.pth').exists()


def test_missing_checkpoint(tmp_path, capsys):
    config = cls_config(tmp_path / 'a.py', 'fc')
    err = _run_tool(capsys, config, tmp_path / 'nope.pth', '--num-new', 1,
                    '--work-dir', tmp_path / 'out')
    assert 'does not exist' in err


@pytest.mark.parametrize('num_new', ['0', '-2', 'two'])
def test_num_new_must_be_positive(tmp_path, capsys, num_new):
    tool = _load_tool()
    with pytest.raises(SystemExit) as exit_info:
        tool.main(['c.py', 'c.pth', '--num-new', num_new, '--work-dir',
                   str(tmp_path)])
    assert exit_info.value.code == 2
    assert 'positive integer' in capsys.readouterr().err


def test_ebvs_that_cannot_grow_at_the_requested_quality(tmp_path, capsys):
    config = cls_config(tmp_path / 'a.py', 'ebv-small')
    checkpoint = write_checkpoint(config, tmp_path / 'a.pth')
    # 8 EBVs in 4 dims: max |cos| >= 0.378 (Welch bound)
    err = _run_tool(capsys, config, checkpoint, '--num-new', 3,
                    '--max-cos', 0.2, '--work-dir', tmp_path / 'out')
    assert 'cannot reach max |cos| <= 0.2' in err
    assert 'lower bound is 0.378' in err


def test_unknown_classifier(tmp_path, capsys):
    config = cls_config(tmp_path / 'a.py', 'stacked')
    checkpoint = write_checkpoint(config, tmp_path / 'a.pth')
    err = _run_tool(capsys, config, checkpoint, '--num-new', 1,
                    '--work-dir', tmp_path / 'out')
    assert 'StackedLinearClsHead' in err
    assert 'not a classifier this tool knows' in err


def test_absurd_num_new_is_refused_up_front(tmp_path, capsys):
    """--num-new 99999999999999 used to end in a traceback from the
    allocator (exit 1) after building the grown model."""
    config = cls_config(tmp_path / 'a.py', 'fc')
    checkpoint = write_checkpoint(config, tmp_path / 'a.pth')
    err = _run_tool(capsys, config, checkpoint, '--num-new',
                    '99999999999999', '--work-dir', tmp_path / 'out')
    assert '--num-new 99999999999999 is too large' in err
    assert 'GiB of memory' in err
    assert not (tmp_path / 'out').exists()


def _listing(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_work_dir_holding_the_inputs_needs_overwrite(tmp_path, capsys):
    """Growing W/config.py W/checkpoint.pth into W used to overwrite the
    inputs; now it is refused, and --overwrite replaces them only by the
    complete outputs."""
    work = tmp_path / 'work'
    work.mkdir()
    config = cls_config(work / 'config.py', 'fc')
    checkpoint = write_checkpoint(config, work / 'checkpoint.pth')
    before = _listing(work)
    err = _run_tool(capsys, config, checkpoint, '--num-new', 2,
                    '--work-dir', work)
    assert 'already holds checkpoint.pth, config.py' in err
    assert 'the input config and checkpoint' in err and '--overwrite' in err
    assert _listing(work) == before

    assert _load_tool().main([str(config), str(checkpoint), '--num-new', '2',
                              '--work-dir', str(work), '--overwrite']) == 0
    assert sorted(_listing(work)) == ['checkpoint.pth', 'config.py']
    grown_cfg = Config.fromfile(str(work / 'config.py'))
    assert grown_cfg.model.head.num_classes == 7
    grown = build_model(grown_cfg)
    grown.load_state_dict(load_state(str(work / 'checkpoint.pth'))[0],
                          strict=True)


def test_earlier_outputs_need_overwrite_and_regrow_in_place(tmp_path,
                                                             capsys):
    """A grown EBV model grown again into its own folder: its EBV file is
    an input and an output; the old rows stay bit-identical."""
    config = cls_config(tmp_path / 'a.py', 'ebv')
    checkpoint = write_checkpoint(config, tmp_path / 'a.pth')
    work = tmp_path / 'work'
    first = add_classes(str(config), str(checkpoint), 2, str(work))
    first_ebvs, _ = load_ebvs(first['heads']['head']['ebv_file'])
    before = _listing(work)
    assert sorted(before) == ['checkpoint.pth', 'config.py',
                              'ebvs_head.safetensors']
    err = _run_tool(capsys, config, checkpoint, '--num-new', 1,
                    '--work-dir', work)
    assert 'ebvs_head.safetensors' in err and '--overwrite' in err
    assert _listing(work) == before

    second = add_classes(first['config'], first['checkpoint'], 1, str(work),
                         overwrite=True)
    assert sorted(_listing(work)) == sorted(before)
    ebvs, meta = load_ebvs(second['heads']['head']['ebv_file'])
    assert ebvs.shape == (8, 8) and meta['old_rows'] == '7'
    assert torch.equal(ebvs[:7], first_ebvs)
    grown = build_model(Config.fromfile(second['config']))
    grown.load_state_dict(load_state(second['checkpoint'])[0], strict=True)


@pytest.mark.parametrize('existing', [False, True])
def test_a_failure_leaves_the_work_dir_as_it_was(tmp_path, monkeypatch,
                                                 existing):
    """A failure after some outputs were written (here: in the state
    surgery) leaves no output and no temporary file, also with
    --overwrite over earlier outputs."""
    import mmebv.engine.add_classes as surgery
    config = cls_config(tmp_path / 'a.py', 'ebv')
    checkpoint = write_checkpoint(config, tmp_path / 'a.pth')
    work = tmp_path / 'work'
    if existing:
        add_classes(str(config), str(checkpoint), 1, str(work))
        before = _listing(work)

    def failing(*args, **kwargs):
        raise RuntimeError('interrupted')

    monkeypatch.setattr(surgery, 'grow_state', failing)
    with pytest.raises(RuntimeError, match='interrupted'):
        add_classes(str(config), str(checkpoint), 2, str(work),
                    overwrite=True)
    if existing:
        assert _listing(work) == before
    else:
        assert not work.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        ['a.pth', 'a.py', 'work'] if existing else ['a.pth', 'a.py'])


def test_unwritable_work_dir_names_the_path_given(tmp_path, capsys):
    config = cls_config(tmp_path / 'a.py', 'fc')
    checkpoint = write_checkpoint(config, tmp_path / 'a.pth')
    work = '/proc/self/mmebv-work'  # nothing can be created there, by root
    err = _run_tool(capsys, config, checkpoint, '--num-new', 1,
                    '--work-dir', work)
    assert work in err and '.tmp-' not in err
    blocker = tmp_path / 'file'
    blocker.write_text('')
    err = _run_tool(capsys, config, checkpoint, '--num-new', 1,
                    '--work-dir', blocker / 'work')
    assert f"{str(blocker)!r} is a file" in err


@pytest.mark.slow
def test_cli_grows_and_the_grown_config_trains(tmp_path):
    """The real command line, then tools/train.py on the grown config (it
    starts from the grown checkpoint via load_from)."""
    from data_factory import write_image_folder
    data = tmp_path / 'images'
    write_image_folder(str(data), num_classes=8, images_per_class=2, size=32)
    config = write_config(tmp_path / 'cls.py', f"""
        _base_ = '{cls_config(tmp_path / 'base.py', 'ebv')}'
        pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
        train_dataloader = dict(
            batch_size=4, num_workers=0,
            dataset=dict(type='CustomDataset', data_root='{data}',
                         data_prefix='train', pipeline=pipeline),
            sampler=dict(type='DefaultSampler', shuffle=True))
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))
        train_cfg = dict(by_epoch=True, max_epochs=1)
        default_hooks = dict(logger=dict(interval=1))
        """)
    checkpoint = write_checkpoint(config, tmp_path / 'old.pth')
    out = run([PYTHON, 'tools/add_classes.py', str(config), str(checkpoint),
               '--num-new', '3', '--work-dir', str(tmp_path / 'grown')]).stdout
    assert 'head (EBVClsHead): 5 -> 8 classes' in out
    grown = tmp_path / 'grown'
    trained = run([PYTHON, 'tools/train.py', str(grown / 'config.py'),
                   '--work-dir', str(tmp_path / 'work')]).stdout
    assert 'Load checkpoint from' in trained
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()


# Reserved EBVs: new classes activate them instead of growing the set.


def reserved_cls_config(tmp_path: Path, num_reserved: int) -> Path:
    return write_config(tmp_path / 'reserved.py', f"""
        _base_ = '{cls_config(tmp_path / 'base.py', 'ebv')}'
        model = dict(head=dict(num_reserved={num_reserved}))
        """)


def test_reserved_ebvs_are_activated_not_grown(tmp_path):
    config = reserved_cls_config(tmp_path, num_reserved=4)
    old, grown, summary = grown_pair(tmp_path, config, num_new=3)
    assert torch.equal(grown.head.ebv.ebvs, old.head.ebv.ebvs)  # same buffer
    assert old.head.ebv.ebvs.shape == (9, 8)
    assert_old_logits_kept(old, grown)
    head = Config.fromfile(summary['config']).model.head
    assert (head.num_classes, head.num_reserved) == (8, 1)
    ebvs, meta = load_ebvs(head.ebv_file)
    assert torch.equal(ebvs, old.head.ebv.ebvs)
    assert (meta['activated'], meta['num_reserved']) == ('3', '1')
    entry = summary['heads']['head']
    assert (entry['activated'], entry['num_reserved']) == (3, 1)


def test_more_new_classes_than_reserved_grow_the_rest(tmp_path):
    config = reserved_cls_config(tmp_path, num_reserved=2)
    old, grown, summary = grown_pair(tmp_path, config, num_new=3)
    assert grown.head.ebv.ebvs.shape == (8, 8)
    assert torch.equal(grown.head.ebv.ebvs[:7], old.head.ebv.ebvs)
    inputs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(grown(inputs, mode='tensor')[:, :5],
                                   old(inputs, mode='tensor'), atol=ATOL,
                                   rtol=0)
    head = Config.fromfile(summary['config']).model.head
    assert (head.num_classes, head.num_reserved) == (8, 0)


def test_reserved_box_ebvs_are_activated_before_the_background(tmp_path):
    config = write_config(tmp_path / 'reserved.py', f"""
        _base_ = '{det_config(tmp_path / 'base.py', 'ebv')}'
        model = dict(roi_head=dict(bbox_head=dict(num_reserved=2),
                                   mask_head=dict(num_reserved=3)))
        """)
    old, grown, summary = grown_pair(tmp_path, config, num_new=2)
    old_box = old.roi_head.bbox_head.fc_cls.ebv.ebvs  # 3 + bg + 2 reserved
    new_box = grown.roi_head.bbox_head.fc_cls.ebv.ebvs  # 5 + bg
    assert old_box.shape == new_box.shape == (6, 4)
    assert torch.equal(new_box, old_box[[0, 1, 2, 4, 5, 3]])
    old_mask = old.roi_head.mask_head.conv_logits.ebv.ebvs
    assert torch.equal(grown.roi_head.mask_head.conv_logits.ebv.ebvs,
                       old_mask)
    rois = torch.randn(5, 32, 7, 7)
    with torch.no_grad():
        cls_old, _ = old.roi_head.bbox_head(rois)
        cls_new, _ = grown.roi_head.bbox_head(rois)
    assert cls_old.shape == (5, 4) and cls_new.shape == (5, 6)
    torch.testing.assert_close(cls_new[:, :3], cls_old[:, :3], atol=ATOL,
                               rtol=0)
    torch.testing.assert_close(cls_new[:, 5], cls_old[:, 3], atol=ATOL,
                               rtol=0)
    heads = Config.fromfile(summary['config']).model.roi_head
    assert heads.bbox_head.num_reserved == 0
    assert heads.mask_head.num_reserved == 1
