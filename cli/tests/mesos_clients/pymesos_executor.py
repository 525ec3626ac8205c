"""A Mesos executor written on pymesos (PyPI), unmodified, for Corral's
tests of the v1 executor API: it runs each task it is given by reporting
TASK_RUNNING, then TASK_FINISHED with a message naming itself (a task
named `sleeper` runs until killed); a kill reports TASK_KILLED, naming
itself too. A framework message is answered with one that says
`echo ` and what came. Its agent may restart meanwhile: pymesos subscribes again. The agent starts it with Mesos's environment
(`MESOS_AGENT_ENDPOINT`, `MESOS_FRAMEWORK_ID`, `MESOS_EXECUTOR_ID`, ...).
"""

import base64
import os
import threading

from pymesos import Executor, MesosExecutorDriver


class Runs(Executor):
    def launchTask(self, driver, task):
        def run():
            task_id = task["task_id"]
            driver.sendStatusUpdate({"task_id": task_id, "state": "TASK_RUNNING"})
            if task.get("name") == "sleeper":
                return
            driver.sendStatusUpdate(
                {"task_id": task_id, "state": "TASK_FINISHED", "message": "run by a pymesos executor"}
            )

        threading.Thread(target=run, daemon=True).start()

    def frameworkMessage(self, driver, message):
        text = base64.b64decode(message).decode()
        driver.sendFrameworkMessage(base64.b64encode(("echo " + text).encode()).decode())

    def killTask(self, driver, task_id):
        driver.sendStatusUpdate(
            {"task_id": task_id, "state": "TASK_KILLED", "message": "killed by a pymesos executor"}
        )


if __name__ == "__main__":
    # For the test to stop it when done: with its agent gone, pymesos
    # would try to subscribe again for a day.
    with open("executor.pid", "w") as f:
        f.write(str(os.getpid()))
    MesosExecutorDriver(Runs()).run()
