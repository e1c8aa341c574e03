// AudioWorklet processor: collects the microphone's samples (mixed down to mono) and posts them to
// the main thread in frames of 2048 samples at the context rate (the server resamples the stream).
class PcmCaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Float32Array(2048);
    this.fill = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (input && input.length > 0) {
      const channels = input.length;
      const n = input[0].length;
      for (let i = 0; i < n; i += 1) {
        let s = 0;
        for (let c = 0; c < channels; c += 1) s += input[c][i];
        this.frame[this.fill] = s / channels;
        this.fill += 1;
        if (this.fill === this.frame.length) {
          const out = this.frame;
          this.port.postMessage(out, [out.buffer]);
          this.frame = new Float32Array(2048);
          this.fill = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor('pcm-capture', PcmCaptureProcessor);
