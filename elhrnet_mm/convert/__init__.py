"""Converters of other code bases' checkpoints into this package's models.

Imported explicitly (``from elhrnet_mm.convert import ditehrnet_official``);
``import elhrnet_mm`` does not load them.
"""
