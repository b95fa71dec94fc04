"""Helpers shared by the binding's tests."""

import os
import subprocess
import sys
import textwrap


def run_child(test, code):
    """Run `code` in a fresh interpreter with the binding, so that a crash
    fails the test instead of killing the suite. Freed memory is filled with
    a pattern (MALLOC_PERTURB_), so a read of it shows. Returns stdout."""
    env = dict(os.environ, MALLOC_PERTURB_="165")
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")]
        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=120)
    test.assertEqual(proc.returncode, 0,
                     "the child exited with %d (a negative number is the signal that killed it)"
                     "\nstdout:\n%s\nstderr:\n%s" % (proc.returncode, proc.stdout, proc.stderr))
    return proc.stdout
