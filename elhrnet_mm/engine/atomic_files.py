"""Crash-safe file publication: write elsewhere, fsync, then rename.

``os.replace`` is atomic on POSIX and Windows within one file system, so a
reader of the destination path sees either the old file or the complete new
one, never a truncated mix. ``fsync`` of the file before the rename and of the
directory after it makes the same hold after a power loss, not only after the
writing process is killed.
"""
import os
import os.path as osp

#: Suffix of a file that is still being written; never a valid checkpoint
#: name (it does not end in ``.pth``), so no loader or glob picks it up.
PARTIAL_SUFFIX = '.partial'


def _fsync_dir(path: str) -> None:
    """fsync a directory so a rename inside it survives a power loss."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def publish(src: str, dst: str) -> None:
    """fsync the finished file ``src`` and atomically rename it to ``dst``."""
    with open(src, 'rb') as f:
        os.fsync(f.fileno())
    os.replace(src, dst)
    _fsync_dir(osp.dirname(osp.abspath(dst)))


def write_text_atomic(path: str, text: str) -> None:
    """Replace ``path`` by a file holding ``text``, atomically."""
    partial = path + PARTIAL_SUFFIX
    with open(partial, 'w') as f:
        f.write(text)
    publish(partial, path)
