"""Task logic on numpy, shared by both backends and the command line: what to do with a model's logits."""

from .fill_mask import fill_mask_predictions, resolve_targets

__all__ = ["fill_mask_predictions", "resolve_targets"]
