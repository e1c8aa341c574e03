// Why no GPU can be read, in the UI language: /health and /api/status give NVML's own English words in
// `gpu.reason` ("NVML not available: Driver Not Loaded", "NVML reports no GPU", ...). Known causes map
// to a translated sentence; anything else is named as "unavailable" with the server's words kept.

const REASON_KEYS = [
  [/shared library not found|library not found|libnvidia-ml|function not found/i, 'gpu.reasonNoLibrary'],
  [/driver not loaded/i, 'gpu.reasonNoDriver'],
  [/version mismatch/i, 'gpu.reasonMismatch'],
  [/insufficient permissions|no permission/i, 'gpu.reasonPermission'],
  [/gpu is lost|reset required/i, 'gpu.reasonLost'],
  [/reports no gpu|gpu not found|not found/i, 'gpu.reasonNoDevice'],
];

/** The catalogue key for a server reason: one of REASON_KEYS, else 'gpu.reasonOther'. */
export function gpuReasonKey(reason) {
  const text = String(reason || '');
  for (const [pattern, key] of REASON_KEYS) if (pattern.test(text)) return key;
  return 'gpu.reasonOther';
}

/** The translated sentence for `reason` (t is i18n.js's); '' when the server gave none. */
export function describeGpuReason(reason, t) {
  if (!reason) return '';
  const raw = String(reason).replace(/^NVML not available:\s*/i, '');
  return t(gpuReasonKey(reason), { reason: raw });
}
