"""The dashboard in a real browser (headless Debian chromium through selenium).

A notice published on the mock Kafka cluster must appear on the open page; opening it shows the
stored numbers. Screenshots are saved in the test's tmp directory.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
import uuid

import pytest

from helpers.kafka_mock import local_config, mock_cluster

selenium = pytest.importorskip("selenium")
ck = pytest.importorskip("confluent_kafka")
pytest.importorskip("gcn_kafka")
uvicorn = pytest.importorskip("uvicorn")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
LVK_PRELIMINARY = "gcn/lvk_kafka_json/igwn_gwalert_preliminary_MS260605l.json"
GOLD_BRONZE = "gcn-schema/main/gcn/notices/icecube/single_neutrino_alerts.gold_bronze_track_alerts.example.json"


@pytest.fixture
def browser(tmp_path):
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("chromium / chromedriver not installed (Debian: apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
              f"--user-data-dir={tmp_path / 'chrome-profile'}"):
        opts.add_argument(a)
    drv = webdriver.Chrome(service=DriverService(executable_path=CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()


def _js_fmt(x: float, digits: int) -> str:
    """The page's fmt(): toFixed(digits), or toExponential(digits - 1) below 1e-3 and from 1e5."""
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
        mant, exp = f"{x:.{digits - 1}e}".split("e")
        return f"{mant}e{int(exp):+d}"
    return f"{x:.{digits}f}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(make_service):
    """``served(**config)`` -> (service, base URL) with uvicorn running in a thread."""
    from icecore.service.api import create_app

    servers = []

    def serve(**cfg):
        svc = make_service(**cfg)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(svc, start=False), host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        th = threading.Thread(target=server.run, daemon=True)
        th.start()
        t0 = time.monotonic()
        while not server.started and time.monotonic() - t0 < 20:
            time.sleep(0.05)
        servers.append((server, th))
        return svc, f"http://127.0.0.1:{port}"

    yield serve
    for server, th in servers:
        server.should_exit = True
        th.join(10)


def test_dashboard_shows_a_new_kafka_alert(served, browser, gcn_dir, catalogues_dir, tmp_path, real, lvk_setup):
    with mock_cluster() as (bootstrap, prod):
        _dashboard(served, browser, gcn_dir, catalogues_dir, tmp_path, real, lvk_setup, bootstrap, prod)


def _dashboard(served, browser, gcn_dir, catalogues_dir, tmp_path, real, lvk_setup, bootstrap, prod):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    tag = uuid.uuid4().hex[:8]
    topic = f"t{tag}.gcn.notices.icecube.gold_bronze_track_alerts"
    gw_topic = f"t{tag}.igwn.gwalert"
    prod.produce(topic, value=b"{}", partition=0)  # create the topics (dead-lettered)
    prod.produce(gw_topic, value=b"{}", partition=0)
    prod.flush(10)
    svc, url = served(kafka=local_config(bootstrap), kafka_topics=(topic,), lvk_topics=(gw_topic,),
                      kafka_group_id=f"g-{topic}", scan_plots=True, **lvk_setup[0],
                      catalogues={"4FGL-DR4": catalogues_dir / "fermi" / "gll_psc_v35_4FGL-DR4.fit",
                                  "ICECAT-1": catalogues_dir / "icecat" / "IceCube_Gold_Bronze_Tracks_2011-2023.csv"})
    browser.get(url + "/")
    from selenium.common.exceptions import StaleElementReferenceException

    # the alert table is re-rendered on every poll: an element found a moment ago can go stale
    wait = WebDriverWait(browser, 60, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(EC.text_to_be_present_in_element((By.ID, "health"), "ok"))
    assert browser.find_elements(By.CSS_SELECTOR, "#alerts tbody tr") == []
    browser.save_screenshot(str(tmp_path / "dashboard-empty.png"))

    prod.produce(topic, value=(gcn_dir / GOLD_BRONZE).read_bytes(), partition=0)  # published now
    assert prod.flush(10) == 0
    key = "bronze_137840_57034692"
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, f'#alerts tr[data-key="{key}"]')))
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'#alerts tr[data-key="{key}"] [data-field="status"]'
                                        ).text == "done")
    name = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'#alerts tr[data-key="{key}"] [data-field="name"]'
                                               ).text)
    assert name == "IceCube-230416A"
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'#alerts tr[data-key="{key}"]').click() or True)
    stored = svc.orchestrator.alert(key)
    sig = stored["products"]["significance"]["summary"]["significance"]
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, '#detail [data-field="sigma_post"]'),
                                                f"{sig['sigma_post']:.3f}"))
    detail = browser.find_element(By.ID, "detail")
    assert detail.find_element(By.CSS_SELECTOR, '[data-field="p_post"]').text == f"{sig['p_post']:.4f}"
    assert detail.find_element(By.CSS_SELECTOR, '[data-field="position"]').text == \
        f"{stored['ra_deg']:.3f}, {stored['dec_deg']:.3f}"
    tables = stored["products"]["association"]["summary"]["catalogues"]
    want = [(t["catalogue"], s["name"], f"{s['separation_deg']:.3f}") for t in tables for s in t["sources"]]
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#association tbody tr")) == len(want))
    got = [tuple(td.text for td in tr.find_elements(By.TAG_NAME, "td")[:3])
           for tr in browser.find_elements(By.CSS_SELECTOR, "#association tbody tr")]
    assert got == want
    assert browser.find_elements(By.CSS_SELECTOR, "#contour-svg")  # the 90 % region is drawn
    steps = {li.get_attribute("data-step"): li.text for li in browser.find_elements(By.CSS_SELECTOR, "#plan li")}
    assert steps == {"significance": "significance: done", "association": "association: done"}
    browser.save_screenshot(str(tmp_path / "dashboard-alert.png"))
    assert (tmp_path / "dashboard-alert.png").stat().st_size > 1000

    # an LVK GW alert on its own topic: the LVK follow-up's numbers, files and plot on the page
    prod.produce(gw_topic, value=(real / LVK_PRELIMINARY).read_bytes(), partition=0)
    assert prod.flush(10) == 0
    gw = "gw_MS260605l"
    wait.until(lambda d: [e.text for e in d.find_elements(
        By.CSS_SELECTOR, f'#alerts tr[data-key="{gw}"] [data-field="status"]')] == ["done"])
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'#alerts tr[data-key="{gw}"]').click() or True)
    s = svc.orchestrator.alert(gw)["products"]["lvk_followup"]["summary"]
    lvk = wait.until(EC.visibility_of_element_located((By.ID, "lvk")))
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, '#lvk [data-field="lvk_n_events"]'),
                                                str(s["n_events_window"])))
    assert lvk.find_element(By.CSS_SELECTOR, '[data-field="lvk_p_generic"]').text == _js_fmt(s["generic"]["pval"], 4)
    assert lvk.find_element(By.CSS_SELECTOR, '[data-field="lvk_p_bayesian"]').text == \
        _js_fmt(s["bayesian"]["pval"], 4)
    files = {a.get_attribute("data-file") for a in lvk.find_elements(By.CSS_SELECTOR, "#lvk-files a")}
    assert files == {"notice.json", "circular.txt", "summary.json"}
    img = lvk.find_element(By.CSS_SELECTOR, "#lvk-plot img")
    wait.until(lambda d: d.execute_script("return arguments[0].naturalWidth", img) > 0)  # the PNG loaded
    browser.save_screenshot(str(tmp_path / "dashboard-lvk.png"))
