"""Voice-activity detection with Silero VAD, torch-free, for the ingress.

`silero` loads the model and the library's own functions from the installed `silero-vad` wheel
without running its torch-importing `__init__`; `spans` turns per-frame probabilities into speech
spans with the library's state machine; `file_plan` splits a long file at pauses and skips what is
not speech; `live` follows one live stream (LSTM state carried between calls, speech events).
"""
