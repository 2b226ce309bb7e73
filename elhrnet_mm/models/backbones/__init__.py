from .cbam_litehrnet import CBAMLiteHRNet
from .dite_hrnet import DiteHRNet
from .edite_hrnet import EDiteHRNet
from .el_hrnet import ELHRNet
from .mobileposenet_encoder import MobilePoseNetEncoder

__all__ = [
    'ELHRNet', 'CBAMLiteHRNet', 'DiteHRNet', 'EDiteHRNet', 'MobilePoseNetEncoder'
]
