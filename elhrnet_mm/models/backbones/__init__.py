from .el_hrnet import ELHRNet

__all__ = ['ELHRNet']
