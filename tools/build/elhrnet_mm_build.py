"""PEP 517 build backend: setuptools, plus one fix for editable installs.

OpenMIM (``mim train elhrnet_mm CFG``) finds a package's root as
``<dist location>/<package>`` and then as ``<dist location>/<first line of
top_level.txt>``. For a PEP 660 editable install the dist-info sits in
site-packages while the code stays in this checkout, so both lookups miss.
``build_editable`` therefore writes this checkout's absolute package
directory as the first line of ``top_level.txt`` (``os.path.join`` keeps an
absolute second argument), followed by the real top-level name. Regular
wheels are built by setuptools unchanged.
"""
import base64
import hashlib
import os
import zipfile

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403  (the PEP 517 hooks)

_PACKAGE = 'elhrnet_mm'


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return f'{name},sha256={digest.rstrip(b"=").decode()},{len(data)}'


def build_editable(wheel_directory, config_settings=None,
                   metadata_directory=None):
    name = _setuptools.build_editable(wheel_directory, config_settings,
                                      metadata_directory)
    path = os.path.join(wheel_directory, name)
    package_dir = os.path.join(os.path.abspath(os.getcwd()), _PACKAGE)
    with zipfile.ZipFile(path) as zf:
        entries = [(info, zf.read(info.filename)) for info in zf.infolist()]
    top_level = f'{package_dir}\n{_PACKAGE}\n'.encode()
    record_name = next(i.filename for i, _ in entries
                       if i.filename.endswith('.dist-info/RECORD'))
    top_name = record_name[:-len('RECORD')] + 'top_level.txt'
    entries = [(i, d) for i, d in entries if i.filename != top_name]
    entries.append((zipfile.ZipInfo(top_name), top_level))
    records = []
    for info, data in entries:
        if info.filename != record_name:
            records.append(_record_line(info.filename, data))
    records.append(f'{record_name},,')
    tmp = path + '.tmp'
    with zipfile.ZipFile(tmp, 'w', zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            if info.filename == record_name:
                data = ('\n'.join(records) + '\n').encode()
            zf.writestr(info, data)
    os.replace(tmp, path)
    return name
