"""A Mesos executor written on pymesos (PyPI), unmodified, for Corral's
tests of the v1 executor API: it runs each task it is given by reporting
TASK_RUNNING, then TASK_FINISHED with a message naming itself; a kill
reports TASK_KILLED. The agent starts it with Mesos's environment
(`MESOS_AGENT_ENDPOINT`, `MESOS_FRAMEWORK_ID`, `MESOS_EXECUTOR_ID`, ...).
"""

import threading

from pymesos import Executor, MesosExecutorDriver


class Runs(Executor):
    def launchTask(self, driver, task):
        def run():
            task_id = task["task_id"]
            driver.sendStatusUpdate({"task_id": task_id, "state": "TASK_RUNNING"})
            driver.sendStatusUpdate(
                {"task_id": task_id, "state": "TASK_FINISHED", "message": "run by a pymesos executor"}
            )

        threading.Thread(target=run, daemon=True).start()

    def killTask(self, driver, task_id):
        driver.sendStatusUpdate({"task_id": task_id, "state": "TASK_KILLED"})


if __name__ == "__main__":
    MesosExecutorDriver(Runs()).run()
