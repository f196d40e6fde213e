"""Figures and tables of the analysis tools, and the two command lines."""
import csv
import json
import os
import sys

import pytest
import torch
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tools', 'analysis'))

import ebv_report  # noqa: E402
from mmebv.analysis.reports import (cka_blocks, write_angle_report,  # noqa
                                    write_cka_outputs)
from mmebv.cli import UserInputError  # noqa: E402
from mmebv.core import coherence_report, lower_bound, save_ebvs  # noqa: E402


def _png_size(path):
    with Image.open(path) as image:
        return image.size


def _unit_rows(n, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, d, generator=g),
                                         dim=1)


def test_angle_report_matches_coherence_report(tmp_path):
    ebvs = _unit_rows(40, 6)
    out = str(tmp_path / 'angles.png')
    (summary, ) = write_angle_report([('random', ebvs)], out)
    report = coherence_report(ebvs)
    assert summary['max_abs_cos'] == pytest.approx(report.max_abs_cos)
    assert summary['bound'] == pytest.approx(lower_bound(40, 6))
    expected_min = torch.rad2deg(torch.arccos(torch.tensor(
        report.max_cos, dtype=torch.float64)))
    assert summary['min_angle_deg'] == pytest.approx(float(expected_min),
                                                     abs=1e-4)
    width, height = _png_size(out)
    assert width > 300 and height > 200


def test_ebv_report_cli_two_files(tmp_path, capsys):
    first, second = str(tmp_path / 'a.safetensors'), str(
        tmp_path / 'b.safetensors')
    save_ebvs(first, _unit_rows(30, 8, seed=1))
    save_ebvs(second, _unit_rows(30, 8, seed=2))
    out = str(tmp_path / 'pair.png')
    ebv_report.main([first, second, '--out', out])
    printed = capsys.readouterr().out
    assert printed.count('max |cos|') == 2 and 'lower bound' in printed
    with open(str(tmp_path / 'pair.json')) as f:
        summaries = json.load(f)
    assert [s['label'] for s in summaries] == ['a.safetensors',
                                               'b.safetensors']
    single_width, _ = _png_size(ebv_report_single(first, tmp_path))
    assert _png_size(out)[0] > 1.5 * single_width  # side by side
    with pytest.raises(UserInputError, match='one or two files'):
        ebv_report.main([first, second, first])


def ebv_report_single(path, tmp_path):
    out = str(tmp_path / 'single.png')
    ebv_report.main([path, '--out', out])
    return out


def test_cka_outputs(tmp_path):
    g = torch.Generator().manual_seed(0)
    full = torch.rand(5, 5, generator=g, dtype=torch.float64)
    full = (full + full.t()) / 2
    layers = [['backbone.layer1', 'backbone.layer2'],
              ['backbone.layer1', 'backbone.layer2', 'backbone.layer3']]
    blocks = cka_blocks(['FC', 'EBV'], layers, full)
    assert set(blocks) == {(0, 0), (0, 1), (1, 1)}
    assert torch.equal(blocks[(0, 1)], full[:2, 2:])
    paths = write_cka_outputs(str(tmp_path), ['FC', 'EBV'], layers, full,
                              info=dict(split='test'))
    with open(paths['json']) as f:
        saved = json.load(f)
    assert saved['cka']['FC vs EBV'] == full[:2, 2:].tolist()
    with open(paths['csv']) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 + 6 + 9
    assert _png_size(paths['png'])[0] > 600
    with pytest.raises(ValueError, match='does not match'):
        cka_blocks(['FC'], [layers[0]], full)

