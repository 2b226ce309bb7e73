"""The typed report of one measured config (what ``get_flops.py`` prints).

:func:`~.measure.measure_config` returns a :class:`ComplexityReport`;
``get_flops.py --json`` prints its :meth:`ComplexityReport.to_json`.
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from .counters import TorchstatCount


@dataclass(frozen=True)
class FlopsCounts:
    """One model's FLOPs under every convention we count.

    Attributes:
        mmengine: what MMPose's ``get_flops.py`` prints (one MAC = 1 FLOP).
        torchstat: the Lite-/Dite-HRNet repositories' torchstat count.
        conv_macs: convolution and linear multiply-accumulates only.
        hrnet_ratio: ``conv_macs`` over MMPose's HRNet-W32's at the same
            input; None where HRNet-W32 cannot run at that input.
        hrnet_paper_scale: ``hrnet_ratio`` times the HRNet paper's
            HRNet-W32 FLOPs at this input (EL-HRNet's scale); None where
            either is unknown.
    """
    mmengine: int
    torchstat: int
    conv_macs: int
    hrnet_ratio: Optional[float]
    hrnet_paper_scale: Optional[float]


@dataclass(frozen=True)
class HRNetReference:
    """The HRNet-W32 a report's ratio is taken against.

    Attributes:
        config: ``mmpose::<path>`` of MMPose's HRNet-W32 config.
        num_keypoints: head channels it was built with.
        convention: the counting convention of the ratio.
        flops: its count at the report's input; None where it cannot run.
        published: the HRNet paper's row at this input, if any.
    """
    config: str
    num_keypoints: int
    convention: str
    flops: Optional[int]
    published: Optional[Dict[str, Any]]


@dataclass(frozen=True)
class PaperMatch:
    """A published row of the measured config, with our deviation.

    Attributes:
        row: the row, as :func:`~.published.find_rows` returns it.
        flops_ours: our count in the row's convention and unit; None when
            we do not count that convention.
        params_deviation_pct: (ours - published) / published in percent,
            rounded to 0.01; None where the row has no params.
        flops_deviation_pct: the same for FLOPs; None where either side
            is missing.
    """
    row: Dict[str, Any]
    flops_ours: Optional[float]
    params_deviation_pct: Optional[float]
    flops_deviation_pct: Optional[float]


@dataclass(frozen=True)
class ComplexityReport:
    """Params and FLOPs of one config, and the published rows beside them.

    Attributes:
        config: the config path as given.
        input_hw: (H, W) of the counted input (batch 1, 3 channels).
        num_keypoints: keypoints of the HRNet-W32 reference's head.
        params: every parameter of the model.
        flops: the counts, see :class:`FlopsCounts`.
        torchstat: torchstat's own result (its params, unknown modules).
        hrnet_reference: see :class:`HRNetReference`.
        paper: the config's published rows at this input.
        paper_other_sizes: (H, W) of its rows at other inputs.
    """
    config: str
    input_hw: Tuple[int, int]
    num_keypoints: int
    params: int
    flops: FlopsCounts
    torchstat: TorchstatCount
    hrnet_reference: HRNetReference
    paper: Tuple[PaperMatch, ...]
    paper_other_sizes: Tuple[Tuple[int, int], ...]

    @property
    def input_shape(self) -> List[int]:
        """``[1, 3, H, W]``."""
        return [1, 3, *self.input_hw]

    def to_json(self) -> Dict[str, Any]:
        """Plain JSON types, in the layout ``get_flops.py --json`` prints."""
        return {
            'config': self.config,
            'input_shape': self.input_shape,
            'num_keypoints': self.num_keypoints,
            'params': self.params,
            'flops': dict(vars(self.flops)),
            'torchstat': {
                'params': self.torchstat.params,
                'flops_binary_m': self.torchstat.flops_binary_m,
                'unknown_modules': list(self.torchstat.unknown_modules),
            },
            'hrnet_reference': dict(vars(self.hrnet_reference)),
            'paper': [
                dict(match.row,
                     deviation_pct={
                         'params': match.params_deviation_pct,
                         'flops': match.flops_deviation_pct
                     }) for match in self.paper
            ],
            'paper_other_sizes': [list(s) for s in self.paper_other_sizes],
        }
