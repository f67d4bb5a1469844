"""The local router: follows the deployment record, survives upstreams closing their connections."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ml_platform.serving import router
from ml_platform.serving.deploy import free_port
from bench.loadgen import encode_post, run_load


async def _upstream(name: str, close_after_each: bool = False) -> tuple[asyncio.Server, int]:
    """A stand-in version that answers its name; optionally drops keep-alive after every answer."""

    async def handle(reader, writer):
        try:
            while True:
                await router._read_message(reader)
                body = json.dumps({"version": name}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
                if close_after_each:
                    break
        except asyncio.IncompleteReadError:
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _ask(port: int) -> dict:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode_post(port, "/predict", b"{}"))
    head, body = await router._read_message(reader)
    writer.close()
    return {"status": int(head.split()[1]), **json.loads(body)}


def _point(record, port: int) -> None:
    tmp = record.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": f"http://127.0.0.1:{port}"}))
    tmp.replace(record)


def test_router_switches_when_the_record_changes_without_failing_requests(tmp_path):
    record = tmp_path / "deployment.json"

    async def scenario():
        blue, blue_port = await _upstream("blue")
        green, green_port = await _upstream("green", close_after_each=True)
        port = free_port()
        task = asyncio.create_task(router.serve(port, record))
        await asyncio.sleep(0.2)
        assert (await _ask(port))["status"] == 503  # nothing deployed yet
        _point(record, blue_port)
        assert (await _ask(port))["version"] == "blue"
        load = asyncio.create_task(run_load(port, "/predict", [b"{}"], connections=4, duration_s=1.0))
        await asyncio.sleep(0.3)
        _point(record, green_port)
        await asyncio.sleep(0.3)
        blue.close()
        result = await load
        after = await _ask(port)
        task.cancel()
        green.close()
        return result, after

    result, after = asyncio.run(scenario())
    assert result.requests > 100 and result.errors == 0, result.first_errors
    assert after["version"] == "green"


@pytest.mark.parametrize("head", [b"POST /predict HTTP/1.1\r\ncontent-length: x\r\n\r\n",
                                  b"POST /predict HTTP/1.1\r\ncontent-length: 999999999999\r\n\r\n"])
def test_router_refuses_bad_framing_with_a_400(tmp_path, head):
    async def scenario():
        port = free_port()
        task = asyncio.create_task(router.serve(port, tmp_path / "deployment.json"))
        await asyncio.sleep(0.2)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head)
        answer = await reader.read()
        task.cancel()
        return answer

    assert asyncio.run(scenario()).startswith(b"HTTP/1.1 400")


def test_a_canary_takes_its_fraction_of_requests_until_the_record_drops_it(tmp_path):
    record = tmp_path / "deployment.json"
    record.write_text(json.dumps({"url": "http://127.0.0.1:1001", "canary_url": "http://127.0.0.1:1002",
                                  "canary_fraction": 0.2}))
    routing = router.Router(record, seed=3)
    picks = [routing.current().port for _ in range(5000)]
    assert 0.17 < picks.count(1002) / len(picks) < 0.23
    assert routing.status() == {"upstream": "http://127.0.0.1:1001", "canary": "http://127.0.0.1:1002",
                                "canary_fraction": 0.2}
    _point(record, 1002)  # promoted: the canary's upstream, and its pooled connections, are kept
    kept = routing.canary
    assert {routing.current().port for _ in range(100)} == {1002}
    assert routing.primary is kept and routing.canary is None
    record.unlink()
    assert routing.current() is None and routing.status()["upstream"] is None


def test_the_router_stops_the_standby_once_its_grace_period_is_over(tmp_path):
    record = tmp_path / "deployment.json"
    # The stand-in takes SIGTERM's default itself: a suite started in the background has SIGINT ignored, and
    # Dagster maps SIGTERM to SIGINT's handler, so the child would inherit an ignored SIGTERM. It says when
    # it is ready, so the signal never lands before that.
    standby = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_DFL); "
                               "print('up', flush=True); time.sleep(60)"],
        start_new_session=True, stdout=subprocess.PIPE, text=True)
    assert standby.stdout.readline() == "up\n"
    try:
        record.write_text(json.dumps({"url": "http://127.0.0.1:1", "standby_pid": standby.pid,
                                      "standby_until": time.time() + 60}))
        assert router.retire_expired_standby(record) == 0 and standby.poll() is None  # still in its grace period
        assert router.retire_expired_standby(record, now=time.time() + 61) == standby.pid
        assert standby.wait(timeout=10) == -signal.SIGTERM
        record.write_text(json.dumps({"url": "http://127.0.0.1:1"}))
        assert router.retire_expired_standby(record, now=time.time() + 61) == 0  # no standby: nothing to stop
    finally:
        standby.kill()
        standby.wait()
        standby.stdout.close()


def test_a_record_without_a_standby_has_no_live_standby():
    from ml_platform.serving import deploy

    # a record's pid 0 means "none": kill(0, 0) would signal this process group and read as alive
    assert deploy.is_alive(os.getpid()) and not deploy.is_alive(0)
