"""Reads a master through Mesos's v1 operator API with pymesos's operator
driver (PyPI, unmodified), for Corral's tests: prints each answer as one
JSON line `{"call": NAME, "answer": ...}`, or `{"call": NAME, "error": ...}`.

    python pymesos_operator.py MASTER
"""

import json
import sys

from pymesos import MesosOperatorMasterDriver


def main():
    driver = MesosOperatorMasterDriver(sys.argv[1])
    calls = [
        ("GET_HEALTH", driver.getHealth),
        ("GET_VERSION", driver.getVersion),
        ("GET_METRICS", lambda: driver.getMetrics(5 * 10**9)),
        ("GET_MASTER", driver.getMaster),
        ("GET_AGENTS", driver.getAgents),
        ("GET_FRAMEWORKS", driver.getFrameworks),
        ("GET_TASKS", driver.getTasks),
        ("GET_ROLES", driver.getRoles),
        ("GET_STATE", driver.getState),
    ]
    for name, call in calls:
        try:
            print(json.dumps({"call": name, "answer": call()}), flush=True)
        except Exception as e:  # the test shows what failed
            print(json.dumps({"call": name, "error": str(e)}), flush=True)


if __name__ == "__main__":
    main()
