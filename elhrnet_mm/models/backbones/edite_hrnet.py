"""EDite-HRNet: Dite-HRNet-18 with EDMC blocks and an EDGC stem.

Rui et al., "EDite-HRNet: Enhanced Dynamic Lightweight High-Resolution
Network for Human Pose Estimation", IEEE Access, Sec. III, Fig. 1-2; the
S/L variants of Sec. IV-B and the ablation variants of Table 5.
"""
from mmpose.registry import MODELS

from .dite_hrnet import DiteHRNet


@MODELS.register_module()
class EDiteHRNet(DiteHRNet):
    """:class:`DiteHRNet` with EDite-HRNet-S's blocks as defaults.

    Nothing but the defaults of ``stem_block`` and ``stage_block`` differs
    from :class:`DiteHRNet` (``extra`` as there; the paper uses
    Dite-HRNet-18's). The paper's models are block configs:

    ===============================  =====================================
    model (paper)                    blocks
    ===============================  =====================================
    EDite-HRNet-S                    the defaults: ``stem_block=dict(type=
                                     'EDGCBlock')``, ``stage_block=dict(
                                     type='EDMCBlock', mix_groups=None)``
    EDite-HRNet-L                    ``stage_block=dict(type='EDMCBlock',
                                     mix_groups=1, conv_bn_cfg=dict(type=
                                     'EnhancedConvBN', dfc_grouping=
                                     'dense'))`` and ``stem_block=dict(
                                     type='EDGCBlock', conv_bn_cfgs={p:
                                     dict(type='EnhancedConvBN',
                                     dfc_grouping='dense')})`` for p in
                                     'branch1.dw', 'branch2.dw' (the
                                     8.89 M reading; mix_groups=1 alone
                                     is the 6.95 M one, docs/edite_hrnet.md)
    Dite-HRNet-18 + Enhanced ConvBN  ``stage_block=dict(type='DMCBlock',
    (Table 5)                        conv_bn_cfg=dict(type=
                                     'EnhancedConvBN'))``
    ===============================  =====================================

    :class:`~elhrnet_mm.models.blocks.EDGCBlock` is the DGC block with
    Enhanced ConvBN (GhostModuleV2 with DFC attention) at its depthwise
    ConvBN positions; :class:`~elhrnet_mm.models.blocks.EDMCBlock` the DMC
    block with the cheap op + Mix of the complex half's stage outputs and
    Enhanced ConvBN in its DSC (``conv_bn_cfg``). ``mix_groups`` is the Mix
    conv's groups: None (one per output channel, "depth-wise", S) or 1
    ("normal convolution", L).

    Args:
        extra (dict): as :class:`DiteHRNet`.
        stem_block (dict): Default: ``dict(type='EDGCBlock')``.
        stage_block (dict): Default: ``dict(type='EDMCBlock')``.
        Other arguments as :class:`DiteHRNet`.

    Shapes:
        input (N, 3, H, W), H and W multiples of 32 (four branches) ->
        tuple with one (N, C_0, H/4, W/4) tensor.
    """

    def __init__(self,
                 extra: dict,
                 *args,
                 stem_block: dict = dict(type='EDGCBlock'),
                 stage_block: dict = dict(type='EDMCBlock'),
                 **kwargs):
        super().__init__(
            extra,
            *args,
            stem_block=stem_block,
            stage_block=stage_block,
            **kwargs)
