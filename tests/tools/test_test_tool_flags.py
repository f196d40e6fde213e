"""tools/test.py's --out, --show-dir and --tta: run on a tiny mmpretrain
classifier, and set up per codebase (mmpretrain, mmdet, mmseg) as each
upstream tools/test.py does."""
import contextlib
import importlib.util
import io
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmebv.cli import UserInputError, run_tool
from mmebv.engine.add_classes import build_model
from tests_conftest import checkout_env

sys.path.append(str(Path(__file__).resolve().parents[1] / 'cls'))

from cls_helpers import tiny_folder_config  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

#: Flip test-time augmentation for the tiny classifier.
TTA = """
tta_model = dict(type='AverageClsScoreTTA')
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='RandomFlip', prob=1.),
                      dict(type='RandomFlip', prob=0.)],
                     [dict(type='PackInputs')]])]
"""


@pytest.fixture(scope='module')
def classifier(tmp_path_factory):
    """``(config, config with TTA, checkpoint)`` of a tiny EBV classifier
    testing on 6 images."""
    from data_factory import write_image_folder
    root = tmp_path_factory.mktemp('test_flags')
    images = root / 'images'
    write_image_folder(str(images), num_classes=3, images_per_class=2,
                       size=32)
    config = tiny_folder_config(
        root / 'cls.py', images, "type='EBVClsHead', ebv_dim=4, "
        'num_classes=3', num_classes=3, batch_size=3)
    tta = root / 'cls_tta.py'
    tta.write_text(config.read_text() + TTA)
    checkpoint = root / 'cls.pth'
    state = build_model(Config.fromfile(str(config))).state_dict()
    torch.save({'meta': {}, 'state_dict': state}, str(checkpoint))
    return config, tta, checkpoint


def run_test_tool(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, 'tools/test.py', *map(str, args)], cwd=str(REPO),
        capture_output=True, text=True, timeout=600,
        env=checkout_env(REPO, OMP_NUM_THREADS='1'))


def load_test_tool():
    spec = importlib.util.spec_from_file_location(
        'test_tool_under_test', REPO / 'tools' / 'test.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def predictions(path: Path) -> list:
    with open(path, 'rb') as file:
        return pickle.load(file)


@pytest.mark.slow
def test_out_and_show_dir(tmp_path, classifier):
    """--out dumps one prediction per image (mmengine's DumpResults);
    --show-dir draws the test images (mmpretrain's VisualizationHook)."""
    config, _, checkpoint = classifier
    out, shown = tmp_path / 'out' / 'preds.pkl', tmp_path / 'shown'
    result = run_test_tool(config, checkpoint, '--work-dir', tmp_path / 'w',
                           '--out', out, '--show-dir', shown)
    assert result.returncode == 0, result.stderr[-4000:]
    assert 'accuracy/top1' in result.stdout
    preds = predictions(out)
    assert len(preds) == 6
    assert {'pred_label', 'pred_score', 'gt_label', 'img_path'} <= set(
        preds[0])
    assert preds[0]['pred_score'].shape == (3, )
    # Image names repeat across the class folders: one file per name.
    assert sorted(p.name for p in shown.iterdir()) == [
        '0000.png_0.png', '0001.png_0.png']


@pytest.mark.slow
def test_tta(tmp_path, classifier):
    """--tta tests the model wrapped in tta_model on tta_pipeline; the
    checkpoint, the plain model's, is checked against the wrapped model."""
    _, config, checkpoint = classifier
    out = tmp_path / 'tta.pkl'
    result = run_test_tool(config, checkpoint, '--work-dir', tmp_path / 'w',
                           '--tta', '--out', out)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "type='AverageClsScoreTTA'" in result.stdout
    assert 'accuracy/top1' in result.stdout
    assert len(predictions(out)) == 6


def test_tta_without_tta_model_is_one_line_error(tmp_path, classifier):
    config, _, checkpoint = classifier
    result = run_test_tool(config, checkpoint, '--work-dir', tmp_path / 'w',
                           '--tta')
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        'test.py: error: --tta needs tta_model and tta_pipeline in the '
        'config (the model that merges the augmented predictions and the '
        'test pipeline that augments); this config has none.']


@pytest.mark.parametrize('args, message', [
    (['--out', 'preds.json'], "--out 'preds.json': the predictions are "
     'dumped to a pickle file'),
    (['--show-dir', 'shown', '--cfg-options',
      'default_hooks.visualization=None'],
     '--show-dir needs a visualization hook'),
], ids=['out-suffix', 'no-visualization-hook'])
def test_bad_flags_are_one_line_errors(tmp_path, monkeypatch, classifier,
                                       args, message):
    config, _, checkpoint = classifier
    monkeypatch.setenv('LOCAL_RANK', '0')  # restored: main sets it
    tool = load_test_tool()
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = run_tool(lambda: tool.main(
            [str(config), str(checkpoint), '--work-dir',
             str(tmp_path / 'w'), *args]), prog='test.py')
    assert code == 2
    lines = stderr.getvalue().strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def scope_config(scope: str) -> Config:
    return Config(dict(
        default_scope=scope,
        default_hooks=dict(visualization=dict(type='VisualizationHook')),
        visualizer=dict(type='Visualizer'),
        test_evaluator=dict(type='IoUMetric')))


def test_show_dir_per_codebase():
    tool = load_test_tool()
    cfgs = {scope: scope_config(scope)
            for scope in ('mmpretrain', 'mmdet', 'mmseg')}
    for cfg in cfgs.values():
        tool.apply_show_dir(cfg, 'shown')
    hooks = {scope: cfg.default_hooks.visualization
             for scope, cfg in cfgs.items()}
    assert hooks['mmpretrain'] == dict(type='VisualizationHook', enable=True,
                                       out_dir='shown', interval=1)
    assert hooks['mmdet'] == dict(type='VisualizationHook', draw=True,
                                  test_out_dir='shown')
    assert hooks['mmseg'] == dict(type='VisualizationHook', draw=True)
    assert cfgs['mmseg'].visualizer.save_dir == 'shown'
    with pytest.raises(UserInputError, match="default_scope is 'mmocr'"):
        tool.apply_show_dir(scope_config('mmocr'), 'shown')


def test_out_per_codebase():
    from mmdet.evaluation import DumpDetResults
    from mmengine.evaluator import DumpResults
    tool = load_test_tool()
    dump = tool.apply_out(scope_config('mmpretrain'), 'preds.pkl')
    assert type(dump) is DumpResults and dump.out_file_path == 'preds.pkl'
    assert type(tool.apply_out(scope_config('mmdet'),
                               'dets.pickle')) is DumpDetResults
    seg = scope_config('mmseg')
    assert tool.apply_out(seg, 'maps') is None
    assert seg.test_evaluator == dict(type='IoUMetric', output_dir='maps',
                                      keep_results=True)
