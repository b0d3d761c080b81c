"""What the 50-gateway benchmarks ask LiteLLM, imported by both of its
Python parts: the status of a request, and a bounded wait."""
import os, sys, threading, time, urllib.error, urllib.request


def status(base, path, key=None):
    """The HTTP status of GET base+path (with the key as a bearer), or
    None when nothing answers."""
    req = urllib.request.Request(base + path)
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def until(pred, t0, what, bound=180.0, log=None):
    """Seconds from t0 until pred() holds; exits the benchmark (with the
    tail of the LiteLLM log, when given) after `bound` seconds."""
    while not pred():
        if time.perf_counter() - t0 > bound:
            tail = "\n" + open(log).read()[-3000:] if log and os.path.exists(log) else ""
            sys.exit(f"50-gateway: {what} not reached in {bound:.0f} s{tail}")
        time.sleep(0.02)
    return time.perf_counter() - t0


class Window:
    """Watches, on a thread, when `old` was last accepted and when the key
    `new()` returns (once it is another key) was first accepted: the bounds
    of the window in which neither key works. `new` is a function because
    the rotation's new key is unknown until its sink holds it."""

    def __init__(self, base, old, new):
        self.base, self.old, self.new = base, old, new
        self.last_old = self.first_new = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch)
        self._thread.start()

    def _watch(self):
        while not self._stop.is_set():
            now = time.perf_counter()
            if status(self.base, "/v1/models", self.old) == 200:
                self.last_old = now
            new = self.new()
            now = time.perf_counter()
            if new and new != self.old and self.first_new is None \
                    and status(self.base, "/v1/models", new) == 200:
                self.first_new = now
            time.sleep(0.02)

    def stop(self):
        self._stop.set()
        self._thread.join()

    def width(self, t0):
        """From the old key's last 200 (t0 when it never got one) to the
        new key's first."""
        return self.first_new - (self.last_old or t0)
