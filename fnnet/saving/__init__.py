"""Saving: models, params and whole training states as safetensors files, never pickle.

- ``container``: the safetensors format, read with every field checked,
  written atomically (temporary file, fsync, ``os.replace``);
- ``trees``: pytrees as flat tensor names (``params/dense/kernel``) and
  their restoring against a template, naming the leaf that does not match;
- ``model_io``: ``save_model``/``load_model`` (config + params);
- ``checkpoint``: ``save_checkpoint``/``load_checkpoint`` (the whole
  ``TrainState``, the epoch, the history, the callbacks' states).
"""

from fnnet.saving import container  # noqa: F401  (fnnet.saving.container: the file format, which callbacks use)
from fnnet.saving.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from fnnet.saving.model_io import load_model, save_model

__all__ = ["Checkpoint", "load_checkpoint", "load_model", "save_checkpoint", "save_model"]
