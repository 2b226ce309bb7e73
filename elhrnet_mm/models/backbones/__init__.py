from .cbam_litehrnet import CBAMLiteHRNet
from .el_hrnet import ELHRNet
from .mobileposenet_encoder import MobilePoseNetEncoder

__all__ = ['ELHRNet', 'CBAMLiteHRNet', 'MobilePoseNetEncoder']
