"""A Mesos framework written on pymesos (PyPI), unmodified, for Corral's
tests of the v1 scheduler API. It prints one JSON line per thing it sees,
which the Rust test reads, and exits 0 once its plan is done (1 on an
error from the master, 2 on its own timeout).

    python pymesos_framework.py PLAN MASTER[,MASTER...] [TIMEOUT_S]

PLAN:
  basic     launch 3 `echo` tasks (declining other offers with a filter),
            then one `sleep` task that it kills; reconcile a finished
            task; tear down.
  executor  launch one task on a custom executor written on pymesos
            (the command in $PYMESOS_EXECUTOR); once it runs, send the
            executor a framework message; see the echo come back, the
            task finish and the executor end (FAILURE).
  executor-restart
            as a checkpointing framework, launch one `sleeper` task on
            that executor, which runs until killed; print "running" and
            wait for its end (the test restarts the agent meanwhile and
            kills the task).
  failover  launch one `sleep` task; once it runs, print "running" and
            wait. When the stream ends, try the masters in turn (a
            standby answers 307 to the leader, which pymesos follows)
            until re-subscribed with the same framework id; reconcile,
            see the task still running, kill it, tear down.

Masters without ZooKeeper are found the way Mesos frameworks without it
find them: from a list, following the 307 of whichever answers.
"""

import base64
import json
import os
import sys
import threading
import time

from pymesos import MesosSchedulerDriver, Scheduler


def say(**what):
    print(json.dumps(what), flush=True)


def task(name, command, agent_id):
    t = {
        "name": name,
        "task_id": {"value": name},
        "agent_id": agent_id,
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 16}},
        ],
    }
    if command.startswith("executor:"):
        t["executor"] = {
            "executor_id": {"value": "pymesos-executor"},
            "command": {"value": command[len("executor:"):]},
        }
    else:
        t["command"] = {"value": command}
    return t


class Plan(Scheduler):
    def __init__(self, plan, masters):
        self.plan = plan
        self.masters = masters
        self.next_master = 1
        self.lock = threading.Lock()
        if plan == "basic":
            self.to_launch = [("echo-%d" % i, "echo hello from pymesos") for i in range(3)]
        elif plan == "executor":
            # Run by the pymesos executor the environment names.
            self.to_launch = [("by-executor", "executor:" + os.environ["PYMESOS_EXECUTOR"])]
        elif plan == "executor-restart":
            self.to_launch = [("sleeper", "executor:" + os.environ["PYMESOS_EXECUTOR"])]
        else:
            self.to_launch = [("sleeper", "sleep 300")]
        self.finished = set()
        # The executor plan's steps still to see.
        self.awaited = {"echo", "finished", "executor_lost"}
        self.killing = False
        self.reconciled = set()
        self.resubscribed = False
        self.done = threading.Event()
        self.code = 0

    def registered(self, driver, framework_id, master_info):
        say(event="registered", framework_id=framework_id["value"])

    def reregistered(self, driver, master_info):
        say(event="reregistered", framework_id=driver.framework_id)
        with self.lock:
            self.resubscribed = True
        driver.reconcileTasks([{"task_id": {"value": "sleeper"}}])

    def disconnected(self, driver):
        say(event="disconnected")

    def watch_leader(self, driver):
        """A leader detector for a list of masters: when the driver has
        had no subscription for a while, try the next master. (pymesos
        itself follows a 307 at once, so a standby costs no wait.)"""
        down_since = None
        while not self.done.wait(0.5):
            if driver.connected:
                down_since = None
                continue
            down_since = down_since or time.time()
            if time.time() - down_since >= 3:
                with self.lock:
                    master = self.masters[self.next_master % len(self.masters)]
                    self.next_master += 1
                driver.change_master(master)
                down_since = None

    def resourceOffers(self, driver, offers):
        for offer in offers:
            with self.lock:
                batch = []
                cpus = sum(
                    r["scalar"]["value"] for r in offer["resources"] if r["name"] == "cpus"
                )
                while self.to_launch and cpus >= 0.1 * (len(batch) + 1):
                    name, command = self.to_launch.pop(0)
                    batch.append(task(name, command, offer["agent_id"]))
            if batch:
                say(event="launch", tasks=[t["name"] for t in batch], offer=offer["id"]["value"])
                driver.launchTasks(offer["id"], batch)
            else:
                say(event="decline", offer=offer["id"]["value"])
                driver.declineOffer(offer["id"], filters={"refuse_seconds": 60})

    def statusUpdate(self, driver, status):
        name = status["task_id"]["value"]
        state = status["state"]
        reason = status.get("reason")
        say(
            event="update",
            task=name,
            state=state,
            reason=reason,
            message=status.get("message"),
            has_uuid="uuid" in status,
        )
        if reason == "REASON_RECONCILIATION":
            self.on_reconciled(driver, name, state)
            return
        if state == "TASK_RUNNING" and self.plan == "executor":
            hello = base64.b64encode(b"hello").decode()
            driver.sendFrameworkMessage({"value": "pymesos-executor"}, status["agent_id"], hello)
        elif state == "TASK_FINISHED" and self.plan == "executor":
            say(event="finished", task=name, message=status.get("message"))
            self.step_done(driver, "finished")
        elif state == "TASK_FINISHED":
            with self.lock:
                self.finished.add(name)
                all_echoed = self.plan == "basic" and len(self.finished) == 3
            if all_echoed:
                with self.lock:
                    self.to_launch.append(("sleeper", "sleep 300"))
                driver.reviveOffers()
        elif state == "TASK_RUNNING" and name == "sleeper":
            if self.plan == "basic":
                driver.killTask({"value": "sleeper"})
            else:
                say(event="running")
        elif state == "TASK_KILLED" and name == "sleeper":
            if self.plan == "basic":
                driver.reconcileTasks([{"task_id": {"value": "echo-0"}}])
            else:
                self.finish(driver, 0)
        elif state in ("TASK_FAILED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED"):
            say(event="unexpected", task=name, state=state, message=status.get("message"))
            self.finish(driver, 1)

    def frameworkMessage(self, driver, executor_id, agent_id, message):
        text = base64.b64decode(message).decode()
        say(event="message", executor=executor_id["value"], data=text)
        self.step_done(driver, "echo")

    def executorLost(self, driver, executor_id, agent_id, status):
        say(event="executor_lost", executor=executor_id["value"], status=status)
        self.step_done(driver, "executor_lost")

    def slaveLost(self, driver, agent_id):
        say(event="agent_lost", agent=agent_id["value"])

    def step_done(self, driver, step):
        with self.lock:
            self.awaited.discard(step)
            done = not self.awaited
        if done:
            self.finish(driver, 0)

    def on_reconciled(self, driver, name, state):
        with self.lock:
            first = name not in self.reconciled
            self.reconciled.add(name)
        say(event="reconciled", task=name, state=state)
        if self.plan == "basic" and name == "echo-0" and first:
            self.finish(driver, 0)
        elif self.plan == "failover" and name == "sleeper" and state == "TASK_RUNNING":
            driver.killTask({"value": "sleeper"})

    def error(self, driver, message):
        say(event="error", message=message)
        self.finish(driver, 1)

    def finish(self, driver, code):
        self.code = code
        self.done.set()


def main():
    plan, masters = sys.argv[1], sys.argv[2].split(",")
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 60
    framework = {
        "user": "",
        "name": "pymesos-" + plan,
        "failover_timeout": 600,
        "capabilities": [{"type": "PARTITION_AWARE"}],
        "checkpoint": plan == "executor-restart",
    }
    sched = Plan(plan, masters)
    driver = MesosSchedulerDriver(sched, framework, masters[0], use_addict=False)
    driver.start()
    if len(masters) > 1:
        threading.Thread(target=sched.watch_leader, args=(driver,), daemon=True).start()
    if not sched.done.wait(timeout):
        say(event="timeout", seconds=timeout)
        sched.code = 2
    driver.stop()
    driver.join()
    sys.exit(sched.code)


if __name__ == "__main__":
    main()
