// A fake clock for the UI tests: replaces setTimeout/setInterval/clear* and performance.now on
// globalThis so a test can advance time by hand (the modules look these up when they call them).
export function installClock(start = 1000) {
  const g = globalThis;
  const saved = {
    setTimeout: g.setTimeout, clearTimeout: g.clearTimeout, setInterval: g.setInterval, clearInterval: g.clearInterval, now: performance.now,
  };
  let now = start;
  let seq = 0;
  const timers = new Map();
  const add = (fn, ms, repeat, args) => {
    seq += 1;
    timers.set(seq, { fn, at: now + Math.max(0, Number(ms) || 0), every: repeat ? Math.max(1, Number(ms) || 0) : 0, args, id: seq });
    return seq;
  };
  g.setTimeout = (fn, ms, ...args) => add(fn, ms, false, args);
  g.setInterval = (fn, ms, ...args) => add(fn, ms, true, args);
  g.clearTimeout = (id) => { timers.delete(id); };
  g.clearInterval = (id) => { timers.delete(id); };
  performance.now = () => now;
  const clock = {
    get now() { return now; },
    get pending() { return timers.size; },
    /** Advance by ms, running every timer that falls due, in time order. */
    tick(ms) {
      const end = now + ms;
      for (;;) {
        let next = null;
        for (const tm of timers.values()) if (tm.at <= end && (!next || tm.at < next.at || (tm.at === next.at && tm.id < next.id))) next = tm;
        if (!next) break;
        now = next.at;
        if (next.every) next.at += next.every; else timers.delete(next.id);
        next.fn(...next.args);
      }
      now = end;
    },
    /** Run what is due now (zero-delay timers). */
    runDue() { clock.tick(0); },
    uninstall() {
      g.setTimeout = saved.setTimeout; g.clearTimeout = saved.clearTimeout;
      g.setInterval = saved.setInterval; g.clearInterval = saved.clearInterval;
      performance.now = saved.now;
    },
  };
  return clock;
}
