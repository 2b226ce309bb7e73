"""Enhanced ConvBN of EDite-HRNet: a ConvBN whose convolution is a
GhostNetV2 module with DFC attention.

Rui et al., "EDite-HRNet: Enhanced Dynamic Lightweight High-Resolution
Network for Human Pose Estimation", IEEE Access, Sec. III-D, Fig. 2 and 4.
"""
import math
from typing import Optional

import torch.nn as nn
from mmpose.registry import MODELS

from .dynamic_kernel_conv import norm_act
from .ghost_module_v2 import GhostModuleV2

#: Groupings of the DFC branch's first conv (``dfc_grouping``).
DFC_GROUPINGS = ('inherit', 'dense')


@MODELS.register_module()
class EnhancedConvBN(nn.Sequential):
    """``act(norm(GhostModuleV2(x)))``: the conv of a ConvBN replaced.

    The arguments describe the conv being replaced (those of a Dite-HRNet
    ConvBN, :class:`~.DynamicConvModule`, registered as ``'ConvBN'``:
    kernel, stride, groups, DKA kernels), so ``conv_bn_cfg=dict(type=
    'EnhancedConvBN', ...)`` replaces any ConvBN; the GhostModuleV2 takes
    its kernel size and stride, and by default (``inherit_groups=True``)
    its grouping: the primary conv ``C_in -> m = ceil(C_out / ratio)`` uses
    ``gcd(groups, m)`` groups and the DFC branch's first conv ``groups``
    (for a depthwise conv: 2-to-1 grouped primary, depthwise DFC conv).
    The ghost module is linear (no activation inside, the replaced ConvBN
    had none); ``act_cfg`` goes after the norm, as in a ConvBNReLU.

    This is the reading whose complexity matches EDite-HRNet's Tables 1-3
    (docs/edite_hrnet.md lists the alternatives and their counts):
    ``primary_kernel_size=1`` is GhostNetV2's pointwise primary conv,
    ``inherit_groups=False`` its dense convs, ``dynamic_primary=True``
    keeps the replaced conv's dynamic kernels (DKA) in the primary conv.
    ``dfc_grouping`` sets the DFC branch's first conv on its own:
    ``'inherit'`` the replaced conv's groups, ``'dense'`` one group
    (GhostNetV2's own DFC conv; EDite-HRNet-L's reading of "a normal
    convolution", docs/edite_hrnet.md); None follows ``inherit_groups``.

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        kernel_size (int): kernel of the replaced conv.
        stride (int): Default: 1.
        groups (int): groups of the replaced conv. Default: 1.
        num_kernels (int): DKA kernels of the replaced conv; used only with
            ``dynamic_primary``. Default: 1.
        reduction (int): DKA attention reduction. Default: 4.
        primary_kernel_size (int, optional): None: ``kernel_size``.
            Default: None.
        inherit_groups (bool): Default: True.
        dynamic_primary (bool): Default: False.
        dfc_grouping (str, optional): ``'inherit'``, ``'dense'`` or None
            (as ``inherit_groups``). Default: None.
        ratio (int): GhostModuleV2 ratio. Default: 2.
        dw_size (int): cheap depthwise kernel. Default: 3.
        conv_cfg (dict, optional): conv layer config. Default: None.
        norm_cfg (dict, optional): norm config. Default: BN.
        act_cfg (dict, optional): activation after the norm. Default: None.

    Shapes:
        input (N, C_in, H, W) -> output (N, C_out, H / stride, W / stride).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int = 1,
                 groups: int = 1,
                 num_kernels: int = 1,
                 reduction: int = 4,
                 primary_kernel_size: Optional[int] = None,
                 inherit_groups: bool = True,
                 dynamic_primary: bool = False,
                 dfc_grouping: Optional[str] = None,
                 ratio: int = 2,
                 dw_size: int = 3,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = None):
        if dfc_grouping not in DFC_GROUPINGS + (None, ):
            raise ValueError(
                f'EnhancedConvBN dfc_grouping={dfc_grouping!r}; allowed: '
                f"{', '.join(map(repr, DFC_GROUPINGS))} or None (as "
                'inherit_groups)')
        if dfc_grouping is None:
            dfc_grouping = 'inherit' if inherit_groups else 'dense'
        intrinsic = math.ceil(out_channels / ratio)
        ghost = GhostModuleV2(
            in_channels,
            out_channels,
            kernel_size if primary_kernel_size is None else
            primary_kernel_size,
            stride=stride,
            ratio=ratio,
            dw_size=dw_size,
            primary_groups=math.gcd(groups, intrinsic)
            if inherit_groups else 1,
            dfc_groups=groups if dfc_grouping == 'inherit' else 1,
            num_kernels=num_kernels if dynamic_primary else 1,
            reduction=reduction,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=None)
        super().__init__(ghost, *norm_act(out_channels, norm_cfg, act_cfg))

