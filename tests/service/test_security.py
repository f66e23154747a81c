"""Security: tokens on writes, public reads, body size limits, schema validation, path confinement."""

from __future__ import annotations

import pytest

from icecore.service.security import PathOutsideError, TokenError, check_token, safe_path, token_id


def test_check_token():
    assert check_token("Bearer abcdefgh12", ["abcdefgh12"]) == token_id("abcdefgh12")
    for bad in (None, "", "abcdefgh12", "Basic abcdefgh12", "Bearer wrong-token", "Bearer abcdefgh1"):
        with pytest.raises(TokenError):
            check_token(bad, ["abcdefgh12"])
    with pytest.raises(TokenError, match="no token"):
        check_token("Bearer abcdefgh12", [])


def test_short_tokens_refused(tmp_path):
    from icecore.service import ServiceConfig

    with pytest.raises(ValueError, match="8 characters"):
        ServiceConfig(data_dir=tmp_path, tokens=("short",))


def test_safe_path(tmp_path):
    (tmp_path / "a").mkdir()
    assert safe_path(tmp_path, "a", "b.txt") == (tmp_path / "a" / "b.txt").resolve()
    for parts in (("..", "x"), ("/etc/passwd",), ("a", "../../x"), ("a\x00b",), ("C:x",), ("",)):
        with pytest.raises(PathOutsideError):
            safe_path(tmp_path, *parts)
    (tmp_path / "link").symlink_to("/etc")
    with pytest.raises(PathOutsideError):
        safe_path(tmp_path, "link", "passwd")


def test_writes_need_a_token_reads_do_not(make_service, client_for, synthetic_event, quick, auth):
    svc = make_service(start=False)
    c = client_for(svc)
    body = {"event": synthetic_event, "settings": quick}
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": "Basic dXNlcjpwdw=="}):
        assert c.post("/api/scans", json=body, headers=headers).status_code == 401
        assert c.post("/api/alerts", content=b"{}", headers=headers).status_code == 401
    assert svc.scans.queue_depth()["queued"] == 0
    sid = c.post("/api/scans", json=body, headers=auth).json()["id"]
    for method, url in (("POST", f"/api/scans/{sid}/cancel"), ("DELETE", f"/api/scans/{sid}"),
                        ("POST", "/api/alerts/x/event"), ("POST", "/api/alerts/x/rerun")):
        assert c.request(method, url).status_code == 401, url
    assert c.get(f"/api/scans/{sid}").status_code == 200  # reads are public
    assert c.get("/api/scans").status_code == 200 and c.get("/api/alerts").status_code == 200
    assert c.get("/").status_code == 200


def test_read_only_service_without_tokens(make_service, client_for, synthetic_event, quick, auth):
    c = client_for(make_service(start=False, tokens=()))
    r = c.post("/api/scans", json={"event": synthetic_event, "settings": quick}, headers=auth)
    assert r.status_code == 401 and "no token" in r.text


def test_body_size_limit(make_service, client_for, synthetic_event, quick, auth):
    svc = make_service(start=False, max_body_bytes=4096)
    c = client_for(svc)
    big = {"event": synthetic_event, "settings": quick, "fitter_options": {"x": "y" * 5000}}
    r = c.post("/api/scans", json=big, headers=auth)
    assert r.status_code == 413
    # a chunked body (no Content-Length) is cut off as soon as it passes the limit

    def chunks():
        for _ in range(10):
            yield b"x" * 1000

    r = c.post("/api/alerts", content=chunks(), headers=auth)
    assert r.status_code == 413
    assert c.post("/api/scans", json={"event": synthetic_event, "settings": quick}, headers=auth).status_code == 201


def test_bodies_are_validated_against_the_schema(make_service, client_for, synthetic_event, quick, auth):
    c = client_for(make_service(start=False))
    cases = [
        {"event": synthetic_event, "settings": quick, "unexpected": 1},
        {"event": synthetic_event, "settings": {**quick, "bogus": 3}},
        {"event": "not an object", "settings": quick},
        {"settings": quick},
        {"event": synthetic_event, "settings": {"nsides": list(range(20)), "extensions": []}},
        {"event": synthetic_event, "settings": quick, "executor": "gpu"},
        {"event": synthetic_event, "settings": quick, "fitter_options": {"a": [1, 2]}},
    ]
    for body in cases:
        r = c.post("/api/scans", json=body, headers=auth)
        assert r.status_code == 422, body
    assert c.post("/api/scans", content=b"{not json", headers={**auth, "Content-Type": "application/json"}
                  ).status_code == 422
    assert c.get("/api/scans", params={"limit": 10**6}).status_code == 422
    assert c.get("/api/scans", params={"status": "weird"}).status_code == 422


def test_no_path_leaves_the_data_directory(make_service, client_for, synthetic_event, quick, auth, tmp_path):
    svc = make_service()
    c = client_for(svc)
    sid = c.post("/api/scans", json={"event": synthetic_event, "settings": quick}, headers=auth).json()["id"]
    svc.scans.wait(sid, 60)
    res = c.get(f"/api/scans/{sid}/result").json()
    pid = res["product_id"]
    (tmp_path / "secret.txt").write_text("secret")
    for name in ("..%2F..%2Fsecret.txt", "%2Fetc%2Fpasswd", "%2E%2E", "service.sqlite", "..%2Fmetadata.json",
                 "metadata.json%00"):
        for base in (f"/api/scans/{sid}/files/", f"/api/products/{pid}/files/"):
            r = c.get(base + name)
            assert r.status_code == 404, (base, name)
            assert b"secret" not in r.content
    assert c.get(f"/api/products/{pid}/files/metadata.json").status_code == 200
    for url in ("/static/../service.sqlite", "/static/%2e%2e/%2e%2e/secret.txt", "/static/..%2F..%2Fsecret.txt"):
        r = c.get(url)
        assert r.status_code == 404 and b"secret" not in r.content
    # alert keys with path characters map to sanitised names inside the data directory
    assert c.get("/api/alerts/..%2F..%2Fetc").status_code == 404
