"""SIGINT (Ctrl-C) and SIGTERM (kill, a job scheduler) during training: stop cleanly.

Inside ``with StopOnSignals() as stop:`` the first SIGINT or SIGTERM only records
itself; training polls ``stop()`` after each iteration, so the iteration under way
finishes, a checkpoint is written, and the run stops (npgan.run.train_run raises
TrainingInterrupted). A second signal stops at once by raising SignalStop wherever
the program is (checkpoint writes are atomic, so the previous checkpoint survives).

The handlers are installed on entering and the previous ones restored on leaving,
so they are active only while training; outside the main thread (where Python
cannot install handlers) nothing is installed and signals act as usual.
"""

import signal
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalStop(BaseException):
    """A second stop signal: stop now. A BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` swallows it."""

    def __init__(self, signal_number):
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


class StopOnSignals:
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

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info):
        for number, handler in self._previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}
        return False
