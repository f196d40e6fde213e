"""How mmebv's command-line tools report a bad input: one line, exit code 2.

Every tool's ``main`` runs through :func:`run_tool`. An error a user can fix
(a missing or damaged file, an argument out of range, an output that cannot
be written) is printed as ``<tool>: error: <what is wrong and how to fix
it>`` on standard error, and the tool exits with 2, as argparse does for bad
arguments. Any other exception is a bug and keeps its traceback.

Pure Python: tools that need only :mod:`mmebv.core` import it without
OpenMMLab.
"""
import argparse
import contextlib
import os
import sys
from typing import Callable, Iterator, Optional, Tuple, Type


class UserInputError(ValueError):
    """A bad input a user can fix; the message says what and how."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, reporting a bad argument in one line (exit 2)
    without the usage block (``--help`` still shows it)."""

    def error(self, message: str):
        self.exit(2, f'{self.prog}: error: {message}\n')


def available_memory() -> Optional[int]:
    """Bytes of memory available to a new allocation (Linux: MemAvailable),
    else the physical memory, or None when unknown."""
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
    except (AttributeError, ValueError, OSError):
        return None


def user_error_types() -> Tuple[Type[BaseException], ...]:
    """The exceptions reported in one line: :class:`UserInputError`, the
    EBV file errors, and the OS errors of reading inputs and writing
    outputs (missing file, permission denied, disk full...)."""
    from mmebv.core.errors import EBVFileError
    return (UserInputError, EBVFileError, OSError, MemoryError)


def describe(err: BaseException) -> str:
    """One line for ``err``: its message, with OS errors in plain words."""
    if isinstance(err, MemoryError):
        return ('out of memory: the request is too large for this machine; '
                'use fewer classes or dimensions' + (f' ({err})' if str(err)
                                                      else ''))
    if isinstance(err, OSError) and err.strerror:
        if err.filename:
            return f'{err.filename}: {err.strerror}'
        return err.strerror
    return ' '.join(str(err).split()) or type(err).__name__


def run_tool(main: Callable[[], Optional[int]],
             prog: Optional[str] = None,
             extra_errors: Tuple[Type[BaseException], ...] = ()) -> int:
    """Run ``main`` and return its exit code; a user error becomes one line
    on stderr and exit code 2.

    Args:
        main: The tool's entry point; returns an exit code or None (0).
        prog: Name printed before ``error:`` (default: the script's name).
        extra_errors: More exception types a user can fix (e.g. a codebase's
            own ``AddClassesError``).

    Returns:
        The exit code for :func:`sys.exit`.
    """
    prog = prog or os.path.basename(sys.argv[0])
    try:
        code = main()
    except user_error_types() + tuple(extra_errors) as err:
        print(f'{prog}: error: {describe(err)}', file=sys.stderr)
        return 2
    return 0 if code is None else int(code)


@contextlib.contextmanager
def input_errors(what: str, path: str) -> Iterator[None]:
    """Report a failure of the block, which reads the input ``path`` (a
    config, say), as a bad input: one line naming it.

    Errors already meant for users, memory errors and OS errors about
    ``path`` itself pass unchanged; any other exception (an OS error about
    a file ``path`` refers to included) becomes a :class:`UserInputError`
    saying ``what`` ``path`` could not be read and why.

    Args:
        what: What the input is, e.g. ``'config'``.
        path: The path the user gave.

    Raises:
        UserInputError: The block raised.
    """
    try:
        yield
    except OSError as err:
        if err.filename is None or err.filename == path:
            raise
        raise UserInputError(f'cannot read the {what} {path!r}: '
                             f'{describe(err)}') from err
    except user_error_types():
        raise
    except Exception as err:  # noqa: BLE001 (reading runs the user's file)
        raise UserInputError(
            f'cannot read the {what} {path!r}: {type(err).__name__}: '
            f'{describe(err)}') from err
