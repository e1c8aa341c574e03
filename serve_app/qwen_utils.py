"""`qwen_asr`'s audio and language helpers, without importing its models.

`import qwen_asr.inference.utils` runs `qwen_asr/__init__.py` first, which imports the model
classes and with them torch, transformers and nagisa: seconds of start-up and hundreds of MB in
an ingress that never runs a model. The helpers' own module needs only numpy, soundfile and
librosa, so it is loaded here from the installed package's file, as its own module.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import PathFinder
from types import ModuleType

MODULE_NAME = "serve_app._qwen_asr_inference_utils"


def _load() -> ModuleType:
    if MODULE_NAME in sys.modules:
        return sys.modules[MODULE_NAME]
    package = PathFinder.find_spec("qwen_asr")
    if package is None or not package.submodule_search_locations:
        raise ImportError("qwen-asr is not installed (pip install qwen-asr)")
    inference = PathFinder.find_spec("inference", list(package.submodule_search_locations))
    utils = PathFinder.find_spec("utils", list(inference.submodule_search_locations)) if inference else None
    if utils is None or utils.origin is None:
        raise ImportError("this qwen-asr has no qwen_asr/inference/utils.py")
    spec = importlib.util.spec_from_file_location(MODULE_NAME, utils.origin)
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


_utils = _load()
merge_languages = _utils.merge_languages
split_audio_into_chunks = _utils.split_audio_into_chunks
SOURCE_FILE: str = _utils.__file__
