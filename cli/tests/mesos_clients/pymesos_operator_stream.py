"""Watches a master through the v1 operator API's SUBSCRIBE with pymesos's
`MesosOperatorMasterDriver` (PyPI, unmodified), for Corral's tests: prints
one JSON line per event its `OperatorMaster` callbacks hear,
`{"event": NAME, "data": ...}`, after `{"event": "subscribed", ...}` with
the counts of the state it started from. Runs until killed.

    python pymesos_operator_stream.py MASTER
"""

import json
import sys
import threading

from pymesos import MesosOperatorMasterDriver, OperatorMaster


def say(**what):
    print(json.dumps(what), flush=True)


class Watcher(OperatorMaster):
    def taskAdded(self, task_info):
        say(event="taskAdded", data=task_info)

    def taskUpdated(self, task_info):
        say(event="taskUpdated", data=task_info)

    def frameworkAdded(self, framework_info):
        say(event="frameworkAdded", data=framework_info)

    def frameworkUpdated(self, framework_info):
        say(event="frameworkUpdated", data=framework_info)

    def frameworkRemoved(self, framework_info):
        say(event="frameworkRemoved", data=framework_info)

    def agentAdded(self, agent_info):
        say(event="agentAdded", data=agent_info)

    def agentRemoved(self, agent_id):
        say(event="agentRemoved", data=agent_id)


class Driver(MesosOperatorMasterDriver):
    # The driver only logs the state it subscribed with; the test needs
    # to know the subscription is up before it changes the cluster.
    def on_subscribed(self, info):
        state = info["get_state"]
        say(
            event="subscribed",
            agents=len(state["get_agents"]["agents"]),
            tasks=len(state["get_tasks"]["tasks"]),
            heartbeat=info.get("heartbeat_interval_seconds"),
        )


def main():
    driver = Driver(sys.argv[1], Watcher())
    driver.start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
