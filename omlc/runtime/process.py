"""Running the runner command: the process half of the runtime that generated code carries.

Targets whose tasks are Python functions (Prefect, Dagster) start the runner command of the
project file through :func:`omlc_run_command`. Like :mod:`omlc.runtime.window`, generated
code copies this module's functions verbatim (:mod:`omlc.runtime.embed`): standard
library only, nothing from omlc, no ``from __future__``, every name prefixed ``omlc_``.
"""


def omlc_run_command(command, values, timeout=None):
    """Run the runner's shell ``command`` with ``values`` (the OMLC_* variables) added to
    the environment. The command runs in its own process group, which is ended (TERM,
    then KILL after 10 s) when ``timeout`` seconds pass or the task itself is
    interrupted: an engine's task timeout cannot stop blocking code, this can. Raises
    TimeoutError at the timeout and RuntimeError when the command exits non-zero."""
    import os
    import signal
    import subprocess

    env = dict(os.environ)
    env.update(values)
    if timeout is not None and timeout <= 0:
        raise TimeoutError("no time left for the runner: the run's timeout has passed")
    process = subprocess.Popen(["/bin/sh", "-c", command], env=env, start_new_session=True)

    def end():
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, None)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        end()
        raise TimeoutError("the runner did not finish within %s s and was stopped" % timeout) from None
    except BaseException:
        end()
        raise
    if code != 0:
        raise RuntimeError("the runner exited with code %d" % code)
