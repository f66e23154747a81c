"""Issue #11, Kafka: a broken listener is loud and exits; timeouts are honoured; replay has no raw traceback."""

from __future__ import annotations

import json
import socket
import time

import pytest

from icecore.alerts import AlertStore
from icecore.errors import ServiceUnavailable

ck = pytest.importorskip("confluent_kafka")
pytest.importorskip("gcn_kafka")
from icecore.alerts import kafka as kmod  # noqa: E402
from icecore.alerts.kafka import listen, replay  # noqa: E402
from icecore.cli import main  # noqa: E402

TOPIC = "gcn.notices.icecube.gold_bronze_track_alerts"


def _dead_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there any more
    return f"127.0.0.1:{port}"


def _cfg(bootstrap):
    return {"bootstrap.servers": bootstrap, "security.protocol": "plaintext", "log_level": 0}


def test_unreachable_broker_is_counted_and_stops_the_listener(tmp_path):
    t0 = time.monotonic()
    seen = []
    cfg = dict(_cfg(_dead_port()), error_cb=seen.append)  # a user's own error_cb is still called
    with pytest.raises(ServiceUnavailable, match="unreachable") as exc:
        listen(tmp_path, [TOPIC], group_id="g", config=cfg, handle_signals=False, broker_timeout=2.0,
               poll_timeout=0.2)
    assert time.monotonic() - t0 < 15
    assert "errors" in str(exc.value) and seen


def test_unreachable_broker_cli_exits_nonzero(tmp_path, capsys):
    t0 = time.monotonic()
    status = main(["alerts", "listen", "--store", str(tmp_path), "--group-id", "g", "--bootstrap-servers",
                   _dead_port(), "--broker-timeout", "2", "--idle-timeout", "60", "-X", "log_level=0"])
    assert status == 2 and time.monotonic() - t0 < 15
    err = capsys.readouterr().err
    assert "error:" in err and "unreachable" in err and "Traceback" not in err


def test_bad_oauth_credentials_are_reported(tmp_path):
    """gcn-kafka with credentials for a token endpoint that cannot answer: _AUTHENTICATION errors, then exit."""
    with pytest.raises(ServiceUnavailable):
        listen(tmp_path, [TOPIC], group_id="g", client_id="bad-id", client_secret="bad-secret",
               domain="invalid.example", config={"log_level": 0}, handle_signals=False, broker_timeout=2.0,
               poll_timeout=0.2)


def test_idle_timeout_is_honoured(tmp_path):
    owner = ck.Producer({"test.mock.num.brokers": 1, "log_level": 0})
    md = owner.list_topics(timeout=10)
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in md.brokers.values())
    prod = ck.Producer({"bootstrap.servers": bootstrap, "log_level": 0})
    prod.produce("idle.topic", value=b"x")
    prod.flush(10)
    t0 = time.monotonic()
    stats = listen(tmp_path, ["idle.topic"], group_id="idle", config=dict(_cfg(bootstrap), **{
        "session.timeout.ms": 3000, "heartbeat.interval.ms": 500}), handle_signals=False, idle_timeout=1.0,
        poll_timeout=0.2)
    assert stats.stopped_by == "idle_timeout" and stats.received == 1
    assert time.monotonic() - t0 < 10
    del prod, owner


def test_idle_clock_without_assignment_is_bounded():
    now = time.monotonic()
    assert not kmod._idle(None, now - 5, 2.0)  # joining a group may take a few seconds
    assert kmod._idle(None, now - 11, 2.0)  # but not forever
    assert kmod._idle(None, now - 10.5, 10.0)
    assert kmod._idle(now - 3, now - 100, 2.0) and not kmod._idle(now - 1, now - 100, 2.0)


def test_replay_unreachable_broker_is_service_unavailable(tmp_path, capsys):
    with pytest.raises(ServiceUnavailable, match="replay"):
        replay("2024-01-01", "2024-01-02", [TOPIC], store=tmp_path, config=_cfg(_dead_port()), timeout=2.0)
    status = main(["alerts", "replay", "2024-01-01", "2024-01-02", "--store", str(tmp_path), "--bootstrap-servers",
                   _dead_port(), "--timeout", "2", "-X", "log_level=0"])
    err = capsys.readouterr().err
    assert status == 2 and "error:" in err and "KafkaException" not in err and "Traceback" not in err


def test_bad_kafka_setting_is_an_input_error(tmp_path):
    from icecore.errors import InputError

    with pytest.raises(InputError, match="config"):
        listen(tmp_path, [TOPIC], group_id="g", config=dict(_cfg("x:1"), **{"no.such.setting": 1}),
               handle_signals=False)


class _Msg:
    def __init__(self, value, offset):
        self._v, self._o = value, offset

    def value(self):
        return self._v

    def offset(self):
        return self._o

    def topic(self):
        return TOPIC

    def partition(self):
        return 0

    def timestamp(self):
        return (1, 0)

    def error(self):
        return None


def test_commit_failure_is_counted_not_fatal(tmp_path, notices, monkeypatch):
    from alerts_fixtures import NOTICES

    base = json.loads(notices[NOTICES[1]])
    msgs = [_Msg(json.dumps(dict(base, id=[f"1_{i}"])).encode(), i) for i in range(4)]

    class Consumer:
        def __init__(self, *a):
            self.queue = list(msgs)

        def subscribe(self, topics, on_assign=None):
            on_assign(self, [])

        def poll(self, timeout):
            return self.queue.pop(0) if self.queue else None

        def commit(self, message, asynchronous):
            if message.offset() == 1:
                raise ck.KafkaException(ck.KafkaError(ck.KafkaError.ILLEGAL_GENERATION))

        def close(self):
            pass

    monkeypatch.setattr(kmod, "_make_consumer", lambda *a: Consumer())
    store = AlertStore(tmp_path)
    stats = listen(store, [TOPIC], group_id="g", config={"bootstrap.servers": "x:1"}, handle_signals=False,
                   max_messages=4)
    assert stats.stored == 4 and stats.commit_errors == 1 and stats.broker_errors == 1
