"""Small behaviours our backbones add to MMPose's, written once."""
import torch


class ChainableTrainMixin:
    """``train()``/``eval()`` return the module, as ``nn.Module`` promises.

    MMPose's ``HRNet``, ``LiteHRNet`` and ``MobileNetV3`` override ``train``
    (frozen stages, ``norm_eval``) and return None, so ``model.eval()``
    chaining breaks. Put this mixin before the MMPose class in the bases.
    """

    def train(self, mode: bool = True):
        super().train(mode)
        return self


class MultiResolutionInputMixin(ChainableTrainMixin):
    """Reject input sizes that a multi-resolution fusion cannot handle.

    Branch ``i`` runs at ``1 / (4 * 2^i)`` of the input; fusing branches by
    exact 2x upsampling needs H and W to be multiples of ``size_divisor``
    (set by the backbone, 32 for four branches). Otherwise the first forward
    raises a ValueError naming the size and the allowed values, instead of
    a shape mismatch deep in a fuse layer. Skipped while tracing, so the
    exported graph holds no Python shape checks.
    """

    size_divisor: int

    def forward(self, x: torch.Tensor):
        h, w = x.shape[-2:]
        d = self.size_divisor
        if not torch.jit.is_tracing() and (h % d or w % d):
            raise ValueError(
                f'{type(self).__name__} input size {int(h)}x{int(w)} (HxW) '
                'cannot be fused across its branches; allowed: height and '
                f'width multiples of {d} (e.g. 256x192, 256x256, 384x288)')
        return super().forward(x)
