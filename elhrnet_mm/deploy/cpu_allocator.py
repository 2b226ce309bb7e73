"""Keep freed memory in the process, so large tensors are not page-faulted
in again on every forward pass (glibc's malloc, Linux).

PyTorch's CPU tensors come from the C library's ``malloc``. glibc serves
every block above its mmap threshold (at most 32 MiB on 64-bit systems) with
a fresh ``mmap`` and gives it back to the kernel when the tensor is freed,
so the next forward pass page-faults (and zero-fills) the same amount of
memory again. Networks whose activations stay below the threshold never pay
this; at batch 32 MobilePoseNet's decoder maps (e.g. 32 x 640 x 32 x 24
floats, 63 MB) are above it, and the faults cost about a third of its time
(docs/speed.md). Caching allocators (jemalloc, tcmalloc, ONNX Runtime's
arena) keep such memory for reuse; :func:`retain_freed_memory` makes glibc's
malloc do the same inside a running process. The process then keeps up to
its peak memory mapped until it exits.
"""
import ctypes
import platform

#: glibc ``mallopt`` parameters (``malloc.h``).
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4

#: Free memory at the top of the heap is returned to the kernel only above
#: this much (glibc's default is 128 KiB).
DEFAULT_TRIM_THRESHOLD = 1 << 30


class AllocatorError(RuntimeError):
    """The C library's allocator cannot be configured as asked."""


def retain_freed_memory(trim_threshold: int = DEFAULT_TRIM_THRESHOLD) -> None:
    """Make glibc's malloc serve large blocks from its heap (no ``mmap``) and
    keep up to ``trim_threshold`` bytes of freed memory, for the rest of the
    process.

    Args:
        trim_threshold (int): bytes of free memory at the top of the heap
            kept before any is returned to the kernel. Default: 1 GiB.

    Raises:
        AllocatorError: the process does not use glibc (use a caching
            allocator through ``LD_PRELOAD`` there), or ``mallopt`` refused
            a setting.
    """
    if not isinstance(trim_threshold, int) or not \
            0 < trim_threshold < 1 << 31:
        raise ValueError('trim_threshold must be an int in 1..2**31-1 '
                         f'(bytes), got {trim_threshold!r}')
    name, version = platform.libc_ver()
    if name != 'glibc':
        raise AllocatorError(
            'retain_freed_memory needs glibc (mallopt); this process runs '
            f'on {name or "an unknown C library"}. Preload a caching '
            'allocator instead (LD_PRELOAD=libjemalloc.so or '
            'libtcmalloc.so)')
    libc = ctypes.CDLL(None)
    for option, label, value in ((M_MMAP_MAX, 'M_MMAP_MAX', 0),
                                 (M_TRIM_THRESHOLD, 'M_TRIM_THRESHOLD',
                                  trim_threshold)):
        if libc.mallopt(option, value) != 1:
            raise AllocatorError(f'glibc {version} refused mallopt({label}, '
                                 f'{value})')
