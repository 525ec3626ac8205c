"""Reads a master, and an agent if given, through Mesos's v1 operator API
with pymesos's operator drivers (PyPI, unmodified), for Corral's tests:
prints each answer as one JSON line `{"call": NAME, "answer": ...}`, or
`{"call": NAME, "error": ...}`; an agent's calls are named `agent NAME`.

    python pymesos_operator.py MASTER [AGENT]
"""

import json
import sys

from pymesos import MesosOperatorAgentDriver, MesosOperatorMasterDriver


def main():
    driver = MesosOperatorMasterDriver(sys.argv[1])
    calls = [
        ("GET_HEALTH", driver.getHealth),
        ("GET_VERSION", driver.getVersion),
        ("GET_FLAGS", driver.getFlags),
        ("GET_METRICS", lambda: driver.getMetrics(5 * 10**9)),
        ("GET_MASTER", driver.getMaster),
        ("GET_AGENTS", driver.getAgents),
        ("GET_FRAMEWORKS", driver.getFrameworks),
        ("GET_TASKS", driver.getTasks),
        ("GET_ROLES", driver.getRoles),
        ("GET_STATE", driver.getState),
    ]
    if len(sys.argv) > 2:
        agent = MesosOperatorAgentDriver(sys.argv[2])
        calls += [
            ("agent GET_HEALTH", agent.getHealth),
            ("agent GET_VERSION", agent.getVersion),
            ("agent GET_FLAGS", agent.getFlags),
            ("agent GET_METRICS", lambda: agent.getMetrics(5 * 10**9)),
            ("agent GET_FRAMEWORKS", agent.getFrameworks),
            ("agent GET_EXECUTORS", agent.getExecutors),
            ("agent GET_TASKS", agent.getTasks),
            ("agent GET_STATE", agent.getState),
            ("agent GET_CONTAINERS", agent.getContainers),
        ]
    for name, call in calls:
        try:
            print(json.dumps({"call": name, "answer": call()}), flush=True)
        except Exception as e:  # the test shows what failed
            print(json.dumps({"call": name, "error": str(e)}), flush=True)


if __name__ == "__main__":
    main()
