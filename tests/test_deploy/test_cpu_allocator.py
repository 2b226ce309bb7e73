"""``retain_freed_memory``: counted in page faults (never in time)."""
import platform
import subprocess
import sys

import pytest

from elhrnet_mm.deploy import cpu_allocator, retain_freed_memory

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != 'glibc',
                                reason='mallopt is glibc')

# A forward-pass-like pattern on a 64 MiB tensor (three 64 MiB temporaries
# a round), ten rounds; prints the minor page faults of the last five
# (16384 4-KiB pages for each temporary that comes fresh from the kernel).
# Loads the module alone (no mmpose import).
FAULTS = '''
import importlib.util, resource, sys, torch
spec = importlib.util.spec_from_file_location('cpu_allocator', sys.argv[2])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
if sys.argv[1] == 'retain':
    module.retain_freed_memory()
x = torch.ones(16 << 20)
for round in range(10):
    if round == 5:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    y = (x + 1).relu() * 2
    del y
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
'''


def steady_state_faults(mode):
    out = subprocess.run([sys.executable, '-c', FAULTS, mode,
                          cpu_allocator.__file__],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@glibc_only
def test_freed_memory_is_reused_without_page_faults():
    system = steady_state_faults('system')
    retained = steady_state_faults('retain')
    # glibc maps every large block afresh: 3 x 16384 pages a round
    assert system >= 5 * 3 * 16000
    # retained heap memory is reused (glibc's aligned allocations can miss a
    # free block of exactly their size, so a round may still fault)
    assert retained < system / 2


@pytest.mark.parametrize('value', [0, -1, 1 << 31, 1.5, '1'])
def test_bad_trim_threshold(value):
    with pytest.raises(ValueError, match='trim_threshold must be an int'):
        retain_freed_memory(value)


def test_other_c_library_is_refused(monkeypatch):
    monkeypatch.setattr(cpu_allocator.platform, 'libc_ver',
                        lambda: ('', ''))
    with pytest.raises(cpu_allocator.AllocatorError,
                       match='needs glibc.*LD_PRELOAD'):
        retain_freed_memory()
