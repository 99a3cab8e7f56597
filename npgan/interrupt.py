"""SIGINT (Ctrl-C) and SIGTERM (kill, a job scheduler) during training: stop cleanly.

Inside ``with StopOnSignals() as stop:`` the first SIGINT or SIGTERM only records
itself; training polls ``stop()`` after each iteration, so the iteration under way
finishes, a checkpoint is written, and the run stops (npgan.run.train_run raises
TrainingInterrupted). A second signal stops at once by raising SignalStop wherever
the program is (checkpoint writes are atomic, so the previous checkpoint survives).

The handlers are installed on entering and the previous ones restored on leaving,
so they are active only while training; outside the main thread (where Python
cannot install handlers) nothing is installed and signals act as usual.

Around training, while `npgan train` holds the run directory's lock (before training
starts: reading the checkpoint, loading or downloading the data), ``ExitOnSignals``
makes SIGTERM raise SignalStop at once, as Python makes SIGINT raise KeyboardInterrupt,
so that the lock is released on the way out instead of the process dying with it; its
``deferred()`` holds both back for the few system calls of the lock's removal.
"""

import contextlib
import signal
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalStop(BaseException):
    """A second stop signal: stop now. A BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` swallows it."""

    def __init__(self, signal_number):
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


class _SignalHandlers:
    """A context manager that installs ``self._handle`` for SIGINT and SIGTERM on entering (in
    the main thread only; elsewhere Python cannot) and restores the previous handlers on leaving.
    keep_ignored: leave a signal whose handler is SIG_IGN ignored."""

    keep_ignored = False

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                if not (self.keep_ignored and signal.getsignal(number) is signal.SIG_IGN):
                    self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info):
        for number, handler in self._previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}
        return False


class StopOnSignals(_SignalHandlers):
    """Records the first SIGINT or SIGTERM; calling the object says whether one came."""

    def __init__(self):
        self.signal_number = None
        self._previous = {}

    def __call__(self):
        return self.signal_number is not None

    @property
    def signal_name(self):
        return None if self.signal_number is None else signal.Signals(self.signal_number).name

    def _handle(self, signal_number, frame):
        if self.signal_number is not None:
            raise SignalStop(signal_number)
        self.signal_number = signal_number  # no printing here: the handler may interrupt a write to stderr



class ExitOnSignals(_SignalHandlers):
    """``with ExitOnSignals() as guard:`` SIGTERM raises SignalStop wherever the program is, and
    SIGINT KeyboardInterrupt (as Python's own handler does), so ``finally`` clauses run; inside
    ``with guard.deferred():`` either is held back and raised when that block ends. The
    previous handlers are restored on leaving; a signal that was ignored (SIG_IGN) stays
    ignored. Outside the main thread nothing is installed."""

    def __init__(self):
        self._previous = {}
        self._deferring = False
        self._pending = None

    def _handle(self, signal_number, frame):
        if self._deferring:
            self._pending = self._pending or signal_number
            return
        _raise_for(signal_number)

    keep_ignored = True  # a signal that was ignored stays ignored

    @contextlib.contextmanager
    def deferred(self):
        """Hold SIGINT and SIGTERM back for the block (a few system calls that must not be cut
        short, such as removing the lock); the first that came is raised when it ends."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
            pending, self._pending = self._pending, None
            if pending is not None:
                _raise_for(pending)


def _raise_for(signal_number):
    if signal_number == signal.SIGINT:
        raise KeyboardInterrupt
    raise SignalStop(signal_number)
