"""server/slots.py: a server-wide count of validations at once (ENTENTE_MAX_VALIDATIONS).

The slots are shared between processes (other gunicorn workers are played by a subprocess), not
inherited by forked children (a validation child or a query process forked while a slot is held must
not keep it taken), and a refusal for want of a slot does not count against the rate limit.
"""

from __future__ import annotations

import http.server
import io
import os
import subprocess
import sys
import threading

from conftest import CONTRIBUTOR_TOKEN, ROOT
from test_contributions_limits import GOOD_TRIG

from server.slots import Slots

HOLD = """import sys; from server.slots import Slots
slots = Slots(sys.argv[1], int(sys.argv[2]))
print("held" if slots.take() is not None else "none", flush=True)
sys.stdin.readline()
"""


def hold_in_other_process(directory, count: int) -> tuple[subprocess.Popen, str]:
    """A process (like another worker) that takes a slot and keeps it until its stdin closes."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(directory), str(count)], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    return proc, proc.stdout.readline().strip()


def release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=30)


def test_a_slot_held_by_another_process_is_taken_until_that_process_lets_go(tmp_path):
    other, got = hold_in_other_process(tmp_path, 1)
    assert got == "held"
    slots = Slots(tmp_path, 1)
    assert slots.take() is None
    release(other)
    assert slots.take() == 0


def test_threads_of_one_process_each_need_their_own_slot(tmp_path):
    slots = Slots(tmp_path, 1)
    with slots.held() as first:
        seen = []
        thread = threading.Thread(target=lambda: seen.append(slots.take()))
        thread.start()
        thread.join()
        assert first and seen == [None]
    with slots.held() as again:
        assert again


def test_a_child_forked_while_a_slot_is_held_does_not_keep_it(tmp_path):
    """The holder forks a long-lived child (as a worker forks query processes) and dies without giving
    the slot back: the slot is free again, though the child lives on (an flock would stay with it)."""
    holder = subprocess.Popen([sys.executable, "-c", FORK_AND_DIE, str(tmp_path)], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    child_pid = int(holder.stdout.readline())
    holder.wait(timeout=30)
    try:
        os.kill(child_pid, 0)                          # the child is still there
        assert Slots(tmp_path, 1).take() == 0
    finally:
        holder.stdin.close()                           # the child reads EOF and exits


FORK_AND_DIE = """import os, sys; from server.slots import Slots
assert Slots(sys.argv[1], 1).take() == 0
pid = os.fork()
if pid == 0:
    sys.stdin.readline()
    os._exit(0)
print(pid, flush=True)
os._exit(0)
"""


def test_no_slots_means_no_bound(tmp_path):
    slots = Slots(tmp_path, 0)
    with slots.held() as a, slots.held() as b:
        assert a and b


def test_a_refusal_for_want_of_a_slot_is_503_and_not_counted_against_the_rate_limit(app_client, tmp_path):
    client = app_client(max_validations=1, rate_limit=1, contributor_token=CONTRIBUTOR_TOKEN)
    data_dir = client.application.config["ENTENTE"].data_dir
    other, got = hold_in_other_process(data_dir / "validating", 1)
    headers = {"Content-Type": "application/trig", "Accept": "application/json",
               "Authorization": f"Bearer {CONTRIBUTOR_TOKEN}"}
    try:
        assert got == "held"
        for _ in range(2):
            r = client.post("/contributions", data=GOOD_TRIG, headers=headers)
            assert r.status_code == 503, r.get_data(as_text=True)
            assert int(r.headers["Retry-After"]) >= 1 and "ENTENTE_MAX_VALIDATIONS" in r.get_json()["message"]
        dry = client.post("/validate", data=GOOD_TRIG, headers={"Content-Type": "application/trig"})
        assert dry.status_code == 503 and "Retry-After" in dry.headers
        assert client.get("/contributions", headers={"Accept": "application/json"}).get_json()["total"] == 0
    finally:
        release(other)
    r = client.post("/contributions", data=GOOD_TRIG, headers=headers)
    assert r.status_code == 201, r.get_data(as_text=True)       # 429 if the refusals had been counted


class _Busy(http.server.BaseHTTPRequestHandler):
    """Answers 503 + Retry-After to the first `busy` POSTs, then 201; keeps every body it got."""
    busy, bodies = 0, []

    def do_POST(self):
        _Busy.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        if len(_Busy.bodies) <= _Busy.busy:
            answer, status, extra = b'{"error": "Service Unavailable", "message": "busy"}', 503, {"Retry-After": "7"}
        else:
            answer, status, extra = b'{"id": "x", "url": "http://x/", "report": {"conforms": true}}', 201, {}
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(answer)), **extra}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def _contribute_to_busy_server(busy: int) -> tuple[int, list[float], str]:
    from server import client

    _Busy.busy, _Busy.bodies = busy, []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Busy)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    slept, out = [], io.StringIO()
    try:
        code = client.contribute(ROOT / "tests" / "data" / "contributions" / "good-katz-friendly.trig",
                                 f"http://127.0.0.1:{httpd.server_port}", token="t", out=out, sleep=slept.append)
    finally:
        httpd.shutdown()
        httpd.server_close()
    return code, slept, out.getvalue()


def test_entente_contribute_sends_again_after_retry_after_when_the_server_is_busy():
    code, slept, out = _contribute_to_busy_server(busy=2)
    assert code == 0 and slept == [7, 7] and "pending review" in out
    assert len(_Busy.bodies) == 3 and _Busy.bodies[0] == _Busy.bodies[2] == GOOD_TRIG


def test_entente_contribute_gives_up_after_a_few_attempts_and_says_why():
    from server import client

    code, slept, out = _contribute_to_busy_server(busy=100)
    assert code == 1 and len(_Busy.bodies) == client.BUSY_ATTEMPTS and len(slept) == client.BUSY_ATTEMPTS - 1
    assert "Refused (503" in out and "busy" in out
