"""browser.py -- headless Chromium for the site's browser tests
(site_browser.py, site_browser_lang.py): start it, load a page, set the
width and the colour scheme over CDP, run axe-core, read the console."""
import shutil
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 30       # seconds: a bound for a loaded 2-core machine, not a pace


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def chrome(profile):
    o = webdriver.ChromeOptions()
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
              "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--user-data-dir=" + profile):
        o.add_argument(a)
    o.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or
                                            "/usr/bin/chromedriver"), options=o)


def load(d, url):
    d.get(url)
    WebDriverWait(d, WAIT).until(lambda d: d.execute_script(
        "return document.readyState") == "complete")


def width(d, w):
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": w, "height": 800, "deviceScaleFactor": 1, "mobile": w < 600})


def dark(d, on):
    d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [
        {"name": "prefers-color-scheme", "value": "dark" if on else "light"}]})


def axe(d, src):
    """axe-core's violations on the page, injected from SRC once"""
    if not d.execute_script("return typeof window.axe === 'object'"):
        d.execute_script(src)
    return d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then(r => done(r.violations.map(v => ["
        "v.id, v.impact, v.help, v.nodes.map(n => n.target.join(' '))])),"
        " e => done([['axe-error', String(e)]]));")


def errors(d):
    # the browser's own request of /favicon.ico (a 404: the site has
    # none) is not the page's error
    return [e for e in d.get_log("browser") if e.get("level") == "SEVERE"
            and "/favicon.ico " not in e.get("message", "")]
