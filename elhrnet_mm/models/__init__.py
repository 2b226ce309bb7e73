from . import backbones, blocks, necks  # noqa: F401
from .backbones import *  # noqa: F401,F403
from .blocks import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
