"""What tools/train.py and tools/test.py share: config loading and the Runner."""
import argparse
import os
import os.path as osp
import subprocess
from typing import MutableMapping, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmebv.cli import UserInputError
from .dist import setup_cpu_distributed

#: The variables ``srun`` sets that ``--launcher slurm`` reads.
SLURM_VARS = ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')


def parse_run_args(parser: argparse.ArgumentParser,
                   argv=None) -> argparse.Namespace:
    """Add the options every upstream train / test tool has, and parse.

    The options are ``--cfg-options``, ``--launcher`` and ``--local_rank``;
    ``LOCAL_RANK`` is exported (unless set) as the launchers expect.

    Args:
        parser (argparse.ArgumentParser): The tool's parser, to which the
            options are added.
        argv (list[str], optional): The arguments to parse. Defaults to
            None (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The parsed arguments.

    Raises:
        SystemExit: If an argument is unknown or invalid (argparse prints
            the usage).
    """
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, key=value (e.g. '
        'train_cfg.max_iters=10 model.backbone.depth=18)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def load_config(path: str,
                launcher: str = 'none',
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """The config with command-line overrides, as upstream tools build it.

    Args:
        path (str): The config file.
        launcher (str): The ``--launcher`` value, stored as
            ``cfg.launcher``. Defaults to ``'none'``.
        cfg_options (dict, optional): ``--cfg-options`` overrides, merged
            into the config. Defaults to None.
        work_dir (str, optional): The work dir, overriding the config's.
            Defaults to None (the config's, else
            ``./work_dirs/<config name>``).

    Returns:
        Config: The loaded config.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
    """
    cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg


def slurm_master_addr(node_list: str, ntasks: int) -> str:
    """The first host of ``node_list``, by ``scontrol show hostname`` as
    mmengine resolves it; ``127.0.0.1`` for a one-task job without a
    working ``scontrol``.

    Raises:
        UserInputError: Several tasks and ``scontrol`` fails.
    """
    try:
        out = subprocess.run(['scontrol', 'show', 'hostname', node_list],
                             capture_output=True, text=True, check=True)
        hosts = out.stdout.split()
    except (OSError, subprocess.CalledProcessError):
        hosts = []
    if hosts:
        return hosts[0]
    if ntasks == 1:
        return '127.0.0.1'
    raise UserInputError(
        f'--launcher slurm cannot resolve the master node of '
        f'SLURM_NODELIST={node_list!r}: `scontrol show hostname` failed; set '
        f'MASTER_ADDR to the first node of the job.')


def setup_slurm_env(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set torch's ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``
    and ``MASTER_PORT`` from the variables ``srun`` sets, as mmengine's
    ``init_dist('slurm')`` does; ``MASTER_ADDR`` and ``MASTER_PORT`` (default
    29500) already set are kept.

    Raises:
        UserInputError: A Slurm variable is missing or not an integer.
    """
    missing = [name for name in SLURM_VARS if not environ.get(name)]
    if missing:
        raise UserInputError(
            f'--launcher slurm needs {", ".join(missing)} (set by srun); '
            f'start the tool through srun, e.g. tools/slurm_train.sh.')
    try:
        rank = int(environ['SLURM_PROCID'])
        ntasks = int(environ['SLURM_NTASKS'])
        local = environ.get('SLURM_LOCALID')
        local_rank = int(local) if local is not None else \
            rank % max(torch.cuda.device_count(), 1)
    except ValueError as err:
        raise UserInputError(
            f'--launcher slurm: a Slurm variable is not an integer '
            f'({err}).') from None
    if 'MASTER_ADDR' not in environ:
        environ['MASTER_ADDR'] = slurm_master_addr(
            environ['SLURM_NODELIST'], ntasks)
    environ.setdefault('MASTER_PORT', '29500')
    environ['RANK'] = str(rank)
    environ['WORLD_SIZE'] = str(ntasks)
    environ['LOCAL_RANK'] = str(local_rank)


def build_runner(cfg: Config) -> Runner:
    """The config's Runner, on CPU over gloo when launched without CUDA.

    ``--launcher slurm`` without CUDA runs like ``pytorch`` once
    :func:`setup_slurm_env` has translated Slurm's variables.

    Args:
        cfg (Config): The config, e.g. from :func:`load_config`;
            ``cfg.launcher`` selects the launcher.

    Returns:
        Runner: The Runner built from ``cfg`` (of ``cfg.runner_type`` when
        set).

    Raises:
        UserInputError: If ``cfg.launcher`` is ``'slurm'`` and Slurm's
            variables are missing or invalid, or the master node cannot be
            resolved.
        ValueError: If there is no CUDA and the launcher or model wrapper
            cannot run on CPU (see :func:`setup_cpu_distributed`).
    """
    launcher = cfg.launcher
    if launcher == 'slurm':
        setup_slurm_env()
        if not torch.cuda.is_available():
            launcher = 'pytorch'
    setup_cpu_distributed(cfg, launcher)
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
