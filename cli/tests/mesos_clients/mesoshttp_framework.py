"""A Mesos framework written on mesoshttp (PyPI, by Olivier Sallou),
unmodified, for Corral's tests of the v1 scheduler API: a second client
library, written apart from pymesos and from Corral. It prints one JSON
line per thing it sees, which the Rust test reads, and exits 0 once its
plan is done (1 on an error from the master or a task ending otherwise
than planned, 2 on its own timeout).

    python mesoshttp_framework.py MASTER [TIMEOUT_S]

The plan: subscribe; from the first offer big enough, launch two `echo`
tasks and one `sleep 300` on that offer's agent, declining every other
offer with a filter of 60 s; kill the sleeper once it runs; once both echoes
have finished and the sleeper is killed, reconcile the three tasks and,
when all three are answered, tear down and see the stream end.

mesoshttp acknowledges each update itself (`Update.ack()`, before the
UPDATE callbacks run) when it carries a uuid: the framework does not,
or each would be acknowledged twice.

mesoshttp reads the RecordIO stream line by line, so an event is handed
over only once the next record's first bytes arrive: the last event
before a quiet spell waits for the master's next heartbeat (15 s).
"""

import getpass
import json
import logging
import sys
import threading
import time

from mesoshttp.client import MesosClient

ECHOES = ("echo-0", "echo-1")
SLEEPER = "sleeper"
CPUS, MEM = 0.1, 16


def say(**what):
    print(json.dumps(what), flush=True)


def scalar(offer, name):
    return sum(
        r.get("scalar", {}).get("value", 0)
        for r in offer.get("resources", [])
        if r.get("name") == name
    )


def task(name, command, agent_id):
    return {
        "name": name,
        "task_id": {"value": name},
        "agent_id": agent_id,
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": CPUS}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": MEM}},
        ],
        "command": {"value": command},
    }


class Plan(object):
    def __init__(self, client):
        self.client = client
        self.driver = None
        self.lock = threading.Lock()
        self.launched = False
        self.agent_id = None
        self.finished = set()
        self.killing = False
        self.killed = False
        self.reconciling = False
        self.reconciled = {}
        self.tearing_down = False
        self.done = threading.Event()
        self.code = 0

    # mesoshttp logs and drops what a callback raises, and carries on:
    # each callback turns it into the plan's failure instead.
    def guarded(self, callback):
        def run(what):
            try:
                callback(what)
            except Exception as e:
                logging.exception("callback %s", callback.__name__)
                say(event="exception", where=callback.__name__, message=repr(e))
                self.finish(1)

        run.__name__ = callback.__name__
        return run

    def subscribed(self, driver):
        self.driver = driver
        say(event="registered", framework_id=self.client.frameworkId)

    def offers(self, offers):
        for offer in offers:
            o = offer.get_offer()
            with self.lock:
                fits = scalar(o, "cpus") >= 3 * CPUS - 1e-9 and scalar(o, "mem") >= 3 * MEM
                launch = not self.launched and fits
                if launch:
                    self.launched = True
                    self.agent_id = o["agent_id"]["value"]
            if launch:
                tasks = [task(n, "echo hello from mesoshttp", o["agent_id"]) for n in ECHOES]
                tasks.append(task(SLEEPER, "sleep 300", o["agent_id"]))
                say(
                    event="launch",
                    tasks=[t["name"] for t in tasks],
                    offer=o["id"]["value"],
                    agent=o["agent_id"]["value"],
                )
                offer.accept(tasks)
            else:
                say(
                    event="decline",
                    offer=o["id"]["value"],
                    agent=o["agent_id"]["value"],
                    at=time.monotonic(),
                )
                offer.decline(options={"filters": {"refuse_seconds": 60}})

    def update(self, update):
        status = update["status"]
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
            agent_id=status.get("agent_id", {}).get("value"),
        )
        if reason == "REASON_RECONCILIATION":
            self.on_reconciled(name, state)
            return
        expected = {
            "TASK_STAGING",
            "TASK_STARTING",
            "TASK_RUNNING",
            "TASK_KILLING",
            "TASK_KILLED" if name == SLEEPER else "TASK_FINISHED",
        }
        if state not in expected:
            say(event="unexpected", task=name, state=state, message=status.get("message"))
            self.finish(1)
            return
        kill = reconcile = False
        with self.lock:
            if name == SLEEPER and state == "TASK_RUNNING" and not self.killing:
                self.killing = kill = True
            elif name == SLEEPER and state == "TASK_KILLED":
                self.killed = True
            elif state == "TASK_FINISHED":
                self.finished.add(name)
            if self.killed and self.finished == set(ECHOES) and not self.reconciling:
                self.reconciling = reconcile = True
        if kill:
            say(event="kill", task=SLEEPER)
            self.driver.kill(self.agent_id, SLEEPER)
        if reconcile:
            names = list(ECHOES) + [SLEEPER]
            say(event="reconcile", tasks=names)
            self.driver.reconcile(
                [
                    {"task_id": {"value": n}, "agent_id": {"value": self.agent_id}}
                    for n in names
                ]
            )

    def on_reconciled(self, name, state):
        with self.lock:
            self.reconciled[name] = state
            last = (
                len(self.reconciled) == len(ECHOES) + 1 and not self.tearing_down
            )
            if last:
                self.tearing_down = True
        say(event="reconciled", task=name, state=state)
        if last:
            say(event="teardown")
            # The client's own tearDown() only marks it stopping, acted on
            # at the stream's next event (a heartbeat, up to 15 s on): it
            # keeps the client from subscribing again once the stream
            # ends, and the driver's sends the TEARDOWN now.
            self.client.tearDown()
            self.driver.tearDown()
            self.finish(0)

    def error(self, message):
        say(event="error", message=message)
        self.finish(1)

    def disconnected(self, message):
        say(event="disconnected", message=message)

    def finish(self, code):
        with self.lock:
            if not self.done.is_set():
                self.code = code
                self.done.set()


def main():
    master = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 60
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("mesoshttp").setLevel(logging.DEBUG)
    # As Mesos's own drivers do, tasks run as the user starting the
    # framework (mesoshttp's default is root).
    client = MesosClient(
        mesos_urls=["http://" + master],
        frameworkName="mesoshttp-basic",
        frameworkUser=getpass.getuser(),
        max_reconnect=1,
    )
    client.set_failover_timeout(600)
    client.add_capability("PARTITION_AWARE")
    plan = Plan(client)
    client.on(MesosClient.SUBSCRIBED, plan.guarded(plan.subscribed))
    client.on(MesosClient.OFFERS, plan.guarded(plan.offers))
    client.on(MesosClient.UPDATE, plan.guarded(plan.update))
    client.on(MesosClient.ERROR, plan.guarded(plan.error))
    client.on(MesosClient.DISCONNECTED, plan.guarded(plan.disconnected))

    ended = threading.Event()

    def run():
        try:
            ok = client.register()
            say(event="stream-ended", ok=bool(ok))
        finally:
            ended.set()
            # A stream that ends before the plan is done ends the plan.
            plan.finish(1)

    deadline = time.monotonic() + timeout
    threading.Thread(target=run, daemon=True).start()
    if not plan.done.wait(timeout):
        say(event="timeout", seconds=timeout)
        sys.exit(2)
    if plan.code != 0:
        sys.exit(plan.code)
    # The master ends the stream on TEARDOWN; a stream left open would
    # be a framework still subscribed.
    if not ended.wait(max(0, deadline - time.monotonic())):
        say(event="timeout", seconds=timeout, waiting="the stream's end")
        sys.exit(2)
    sys.exit(0)

if __name__ == "__main__":
    main()
