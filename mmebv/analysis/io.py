"""Atomic writers for analysis outputs (temp file + os.replace)."""
import csv
import io
import json
from typing import Any, List, Sequence

from mmebv.fileio import atomic_file


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory.

    Args:
        path (str): The output file; missing folders are created.
        data (bytes): The content.

    Raises:
        OSError: If ``path`` cannot be written (e.g. a part of it is a
            file); ``path`` is then left as it was.
    """
    with atomic_file(path) as tmp, open(tmp, 'wb') as f:
        f.write(data)


def atomic_write_text(path: str, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically.

    Args:
        path (str): The output file; missing folders are created.
        text (str): The content.

    Raises:
        OSError: If ``path`` cannot be written; it is then left as it was.
    """
    atomic_write_bytes(path, text.encode('utf-8'))


def atomic_write_json(path: str, obj: Any) -> None:
    """Write ``obj`` as indented JSON atomically.

    Args:
        path (str): The output file; missing folders are created.
        obj (Any): A JSON-serialisable object.

    Raises:
        TypeError: If ``obj`` is not JSON-serialisable (nothing is
            written).
        OSError: If ``path`` cannot be written; it is then left as it was.
    """
    atomic_write_text(path, json.dumps(obj, indent=2) + '\n')


def atomic_write_csv(path: str, header: Sequence[str],
                     rows: List[Sequence[Any]]) -> None:
    """Write a CSV table atomically.

    Args:
        path (str): The output file; missing folders are created.
        header (Sequence[str]): The column names, written as the first row.
        rows (list[Sequence]): The rows, each a sequence of cell values.

    Raises:
        OSError: If ``path`` cannot be written; it is then left as it was.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())
