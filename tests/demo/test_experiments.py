"""Recorded experiment stages refuse a work dir made with other configs."""
import pytest

from digits_lab.experiments import Stages, config_fingerprint


def test_fingerprint_follows_the_resolved_config(tmp_path):
    base = tmp_path / 'base.py'
    child = tmp_path / 'child.py'
    base.write_text('lr = 0.01\niters = 300\n')
    child.write_text("_base_ = './base.py'\niters = 400\n")
    first = config_fingerprint([str(child)])
    assert config_fingerprint([str(child)]) == first
    base.write_text('lr = 0.02\niters = 300\n')  # a base changes
    assert config_fingerprint([str(child)]) != first


def test_stages_refuse_other_settings(tmp_path):
    Stages(str(tmp_path)).check_settings(dict(iters=300, configs='abc'))
    Stages(str(tmp_path)).check_settings(dict(iters=300, configs='abc'))
    with pytest.raises(SystemExit, match='other settings'):
        Stages(str(tmp_path)).check_settings(dict(iters=300, configs='abd'))
