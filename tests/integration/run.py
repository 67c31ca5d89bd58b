#!/usr/bin/env python3
"""Run the tern integration tests against a ternd binary.

    python3 tests/integration/run.py --ternd build-asan/src/ternd [-k PATTERN]

Discovers test_*.py here, runs them with unittest, prints a summary and
exits non-zero if anything failed.  TERN_KEEP=1 keeps the temporary
directories of every ternd (they are kept anyway when a ternd misbehaved).
"""

import argparse
import atexit
import os
import signal
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ternlib  # noqa: E402


class Result(unittest.TextTestResult):
    """Adds the tail of every ternd log of a failed test, and timings."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.durations = []
        self._started = {}

    def startTest(self, test):
        self._started[test.id()] = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        t0 = self._started.pop(test.id(), None)
        if t0 is not None:
            self.durations.append((time.monotonic() - t0, test.id()))
        super().stopTest(test)

    def _logs(self, test):
        out = []
        ternds = list(getattr(test, "ternds", []) or [])
        ternds += list(getattr(type(test), "class_ternds", []) or [])
        for t in ternds:
            out.append("---- %s log tail (%s) ----\n%s" % (
                t.name, t.dir, t.log_tail(30)))
        return "\n".join(out)

    def _add(self, kind, test, err):
        getattr(super(), kind)(test, err)
        logs = self._logs(test)
        if logs:
            lst = self.failures if kind == "addFailure" else self.errors
            if lst and lst[-1][0] is test:
                lst[-1] = (test, lst[-1][1] + "\n" + logs)

    def addFailure(self, test, err):
        self._add("addFailure", test, err)

    def addError(self, test, err):
        self._add("addError", test, err)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ternd", required=True, help="the ternd binary")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only tests matching this substring (repeatable)")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()

    ternd = os.path.abspath(args.ternd)
    if not (os.path.isfile(ternd) and os.access(ternd, os.X_OK)):
        print("run.py: %s is not an executable file" % args.ternd,
              file=sys.stderr)
        return 2
    ternlib.TERND = ternd
    os.environ["TERND"] = ternd

    # Interrupted: no ternd may outlive the run.
    atexit.register(ternlib.kill_everything)

    def interrupted(signum, _frame):
        ternlib.kill_everything()
        print("\nrun.py: interrupted by signal %d" % signum, file=sys.stderr)
        os._exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, interrupted)

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = ["*%s*" % p for p in args.patterns]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    runner = unittest.TextTestRunner(
        verbosity=1 if args.quiet else 2, resultclass=Result,
        stream=sys.stdout)
    t0 = time.monotonic()
    result = runner.run(suite)
    elapsed = time.monotonic() - t0

    print("\n==== tern integration tests: %d run, %d failed, %d errors, "
          "%d skipped, %d expected failures (known bugs), %d unexpected "
          "successes, in %.1f s (ternd: %s)" % (
              result.testsRun, len(result.failures), len(result.errors),
              len(result.skipped), len(result.expectedFailures),
              len(result.unexpectedSuccesses), elapsed, ternd))
    slow = sorted(result.durations, reverse=True)[:5]
    if slow:
        print("slowest: " + ", ".join("%s %.1fs" % (n.split(".", 1)[-1], d)
                                      for d, n in slow))
    for test, _ in result.failures + result.errors:
        print("FAILED: %s" % test.id())
    for test, _ in result.expectedFailures:
        print("known bug: %s" % test.id())
    for test in result.unexpectedSuccesses:
        print("UNEXPECTED SUCCESS (bug fixed? drop expectedFailure): %s"
              % test.id())
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
