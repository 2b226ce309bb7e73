"""EDite-HRNet: Dite-HRNet-18 with EDMC blocks and an EDGC stem.

Rui et al., "EDite-HRNet: Enhanced Dynamic Lightweight High-Resolution
Network for Human Pose Estimation", IEEE Access, Sec. III, Fig. 1-2; the
S/L variants of Sec. IV-B and the ablation variants of Table 5.
"""
from typing import Optional

from mmpose.registry import MODELS

from ..blocks import DGCBlock, DMCBlock, EDGCBlock, EDMCBlock
from .dite_hrnet import DiteHRNet


@MODELS.register_module()
class EDiteHRNet(DiteHRNet):
    """Dite-HRNet with Enhanced ConvBN and/or EDMC blocks.

    On the Dite-HRNet skeleton (``extra`` as :class:`DiteHRNet`; the paper
    uses Dite-HRNet-18's) the two changes of the paper are switched
    separately, so the backbone covers the paper's models:

    ================================  ===============  ====  =============
    model (paper)                     enhanced_convbn  edmc  mix_groups
    ================================  ===============  ====  =============
    Dite-HRNet-18 + Enhanced ConvBN   True             False -
    EDite-HRNet-S (+ EDMC, Table 5)   True             True  None (dw)
    EDite-HRNet-L                     True             True  1 (normal)
    ================================  ===============  ====  =============

    ``enhanced_convbn``: the stem block is an
    :class:`~elhrnet_mm.models.blocks.EDGCBlock` and the DSC layers of the
    stage blocks are Enhanced ConvBN (GhostModuleV2 with DFC attention).
    ``edmc``: the stage blocks are
    :class:`~elhrnet_mm.models.blocks.EDMCBlock` (cheap op + Mix of the
    complex half's stage outputs) instead of DMC blocks. ``mix_groups`` is
    the EDMC Mix conv's groups: None (one per output channel, "depth-wise",
    S) or 1 ("normal convolution", L). With both switches off this is
    :class:`DiteHRNet`.

    Args:
        extra (dict): as :class:`DiteHRNet`.
        enhanced_convbn (bool): Default: True.
        edmc (bool): Default: True.
        mix_groups (int, optional): Default: None (S).
        block_cfg (dict, optional): further stage-block arguments
            (``cheap_groups``, ``mix_inputs``, ``enhanced_cfg``, DMC
            arguments). Default: None.
        stem_cfg (dict, optional): further stem-block arguments
            (``enhanced_layers``, ``enhanced_cfg``, DGC arguments).
            Default: None.
        Other arguments as :class:`DiteHRNet`.

    Shapes:
        input (N, 3, H, W), H and W multiples of 32 (four branches) ->
        tuple with one (N, C_0, H/4, W/4) tensor.
    """

    def __init__(self,
                 extra: dict,
                 *args,
                 enhanced_convbn: bool = True,
                 edmc: bool = True,
                 mix_groups: Optional[int] = None,
                 block_cfg: Optional[dict] = None,
                 stem_cfg: Optional[dict] = None,
                 **kwargs):
        block_cfg = dict(block_cfg or {})
        if edmc:
            block_cfg['mix_groups'] = mix_groups
        elif mix_groups is not None:
            raise ValueError('EDiteHRNet mix_groups is only allowed with '
                             'edmc=True (it sets the EDMC Mix conv)')
        block_cfg['layer_type'] = ('EnhancedConvBN'
                                   if enhanced_convbn else 'ConvBN')
        # instance attributes read by DiteHRNet.__init__
        self.stage_block = EDMCBlock if edmc else DMCBlock
        self.stem_block = EDGCBlock if enhanced_convbn else DGCBlock
        super().__init__(
            extra, *args, block_cfg=block_cfg, stem_cfg=stem_cfg, **kwargs)
