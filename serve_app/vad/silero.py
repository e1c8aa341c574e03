"""Silero VAD from the `silero-vad` wheel, without torch.

`import silero_vad` runs the package's `__init__`, which imports torch: hundreds of MB and seconds
of start-up in an ingress that runs no model. The wheel also ships a torch-free batched ONNX model
(`data/silero_vad_16k_sequence.onnx`) with its front end (`sequence_vad.py`: numpy + onnxruntime,
one ONNX call per block of up to 512 frames) and a pure-Python state machine that turns per-frame
probabilities into speech spans (`get_speech_timestamps_from_probs` in `utils_vad.py`, a module
that imports torch at its top but never uses it in that function). Both are loaded here from the
installed files, as modules of a private package: `utils_vad` with only its standard-library
imports and that one function, `sequence_vad` as it is. tests/test_vad_unit.py checks that they
give the library's own answers.

ONNX Runtime kernels release the GIL: callers run `SileroVad` in a worker thread.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import threading
from importlib.machinery import PathFinder
from pathlib import Path
from types import ModuleType

import numpy as np

PACKAGE = "serve_app._silero_vad"
MODEL_FILE = "silero_vad_16k_sequence.onnx"
FRAME_SAMPLES = 512                  # one probability per 32 ms at 16 kHz
CONTEXT_SAMPLES = 64                 # the tail of the previous frame the model sees with each frame
STATE_SHAPE = (1, 1, 128)            # LSTM h and c
STATE_FUNCTIONS = ("get_speech_timestamps_from_probs",)
TORCH_MODULES = ("torch", "torchaudio", "torchcodec")


def package_dir() -> Path:
    """The installed `silero_vad` folder, found without executing the package."""
    spec = PathFinder.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("silero-vad is not installed (pip install silero-vad)")
    return Path(next(iter(spec.submodule_search_locations)))


def _torch_free(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import):
        return not any(alias.name.split(".")[0] in TORCH_MODULES for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] not in TORCH_MODULES
    return isinstance(node, ast.FunctionDef) and node.name in STATE_FUNCTIONS


def _module_from(name: str, path: Path, select=None) -> ModuleType:
    module = ModuleType(name)
    module.__file__ = str(path)
    module.__package__ = PACKAGE
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    if select is not None:
        tree.body = [node for node in tree.body if select(node)]
    sys.modules[name] = module
    exec(compile(tree, str(path), "exec"), module.__dict__)  # noqa: S102 -- the installed library's own source
    return module


def _load() -> tuple[ModuleType, ModuleType]:
    if f"{PACKAGE}.sequence_vad" in sys.modules:
        return sys.modules[f"{PACKAGE}.utils_vad"], sys.modules[f"{PACKAGE}.sequence_vad"]
    folder = package_dir()
    package = ModuleType(PACKAGE)
    package.__path__ = []  # a namespace for the two modules below, nothing is found through it
    sys.modules[PACKAGE] = package
    utils = _module_from(f"{PACKAGE}.utils_vad", folder / "utils_vad.py", _torch_free)
    spec = importlib.util.spec_from_file_location(f"{PACKAGE}.sequence_vad", folder / "sequence_vad.py")
    sequence = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = sequence
    spec.loader.exec_module(sequence)  # its `from .utils_vad import ...` finds the module above
    return utils, sequence


_utils, _sequence = _load()
get_speech_timestamps_from_probs = _utils.get_speech_timestamps_from_probs
SileroVADSequence = _sequence.SileroVADSequence
SOURCE_FILES = (_utils.__file__, _sequence.__file__)


class SileroVad:
    """The sequence model of one process (an ONNX session is safe to share between threads)."""

    def __init__(self, model_path: Path | None = None) -> None:
        self.model = SileroVADSequence(str(model_path or package_dir() / "data" / MODEL_FILE))

    def probabilities(self, samples: np.ndarray) -> np.ndarray:
        """Speech probability of each 32 ms frame of 16 kHz audio (the last frame zero-padded)."""
        return self.model.audio_forward(np.ascontiguousarray(samples, dtype=np.float32))


class VadState:
    """One stream's place in the model: the LSTM state and the tail of the last frame."""

    def __init__(self) -> None:
        self.hidden = np.zeros(STATE_SHAPE, np.float32)
        self.cell = np.zeros(STATE_SHAPE, np.float32)
        self.context = np.zeros(CONTEXT_SAMPLES, np.float32)

    def forward(self, vad: SileroVad, frames: np.ndarray) -> np.ndarray:
        """Probabilities of whole frames (n, FRAME_SAMPLES) that follow the ones seen so far.

        The same blocks `sequence_vad.frame_blocks` builds for one long call, but continued from
        this state, so a stream fed piece by piece gets the probabilities of the whole audio."""
        if frames.shape[0] == 0:
            return np.zeros(0, np.float32)
        out = []
        for first in range(0, frames.shape[0], vad.model.max_frames):
            block = frames[first:first + vad.model.max_frames]
            contexts = np.empty((block.shape[0], CONTEXT_SAMPLES), np.float32)
            contexts[0] = self.context
            contexts[1:] = block[:-1, -CONTEXT_SAMPLES:]
            values, self.hidden, self.cell = vad.model.session.run(
                ["speech_probs", "hn", "cn"],
                {"input": np.concatenate((contexts, block), axis=1), "h": self.hidden, "c": self.cell})
            self.context = block[-1, -CONTEXT_SAMPLES:].copy()
            out.append(np.asarray(values, np.float32).reshape(-1))
        return np.concatenate(out)


_shared: SileroVad | None = None
_shared_lock = threading.Lock()


def shared_vad() -> SileroVad:
    """The process's one model, loaded on first use (about 2 MB of weights, ~20 ms)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SileroVad()
        return _shared
