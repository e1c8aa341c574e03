"""A CPU model replica lowers its own priority so the proxy and the ingress answer at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# In a child process: niceness cannot be lowered again without privilege.
PROBE = """
import json, os, threading
from deployments.lifecycle import lower_cpu_priority
before_thread_ready, release = threading.Event(), threading.Event()
seen = dict()
def existing():
    before_thread_ready.set(); release.wait()
    seen["existing"] = os.getpriority(os.PRIO_PROCESS, 0)
    seen["existing_idle"] = os.sched_getscheduler(0) == os.SCHED_IDLE
    def later_thread():
        seen["started_later"] = os.getpriority(os.PRIO_PROCESS, 0)
        seen["started_later_idle"] = os.sched_getscheduler(0) == os.SCHED_IDLE
    later = threading.Thread(target=later_thread)
    later.start(); later.join()
thread = threading.Thread(target=existing); thread.start(); before_thread_ready.wait()
start = os.getpriority(os.PRIO_PROCESS, 0)
applied = lower_cpu_priority(start + {step}, {idle})
lowered_again = lower_cpu_priority(start + {again})
release.set(); thread.join()
print(json.dumps({{"start": start, "applied": applied, "lowered_again": lowered_again, **seen}}))
"""


def probe(step: int, again: int, idle: bool = False) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE.format(step=step, again=again, idle=idle)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_thread_of_the_replica_runs_at_the_lower_priority():
    result = probe(3, again=1)
    target = result["start"] + 3
    assert result["applied"] == target
    assert result["existing"] == target          # a thread that already ran (torch's pool, Ray's workers)
    assert result["started_later"] == target     # and one started afterwards
    assert result["lowered_again"] == target     # never raised back (that needs privilege)
    assert not result["existing_idle"] and not result["started_later_idle"]


def test_the_idle_class_reaches_every_thread_too():
    """SCHED_IDLE: a woken proxy or ingress thread preempts the model at once (niceness only weights)."""
    result = probe(3, again=1, idle=True)
    assert result["existing_idle"] and result["started_later_idle"]
    assert result["existing"] == result["started_later"] == result["start"] + 3


def test_zero_leaves_the_priority_alone():
    result = probe(0, again=0)
    assert result["applied"] == result["start"] == result["existing"] == result["started_later"]
