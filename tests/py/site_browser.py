#!/usr/bin/python3
"""site_browser.py -- the public site in headless Chromium (selenium and
Debian's chromedriver), for tests/integration/site_browser.sh.

  site_browser.py BASE_URL MAILDIR AXE_JS UNSUBSCRIBE_URL STATEMENT_URL EMAIL

1. Every page (/, /subscribe, /archive/, the statement, the unsubscribe
   page, and the confirm page once there is one) at 360 and 1280 CSS px
   wide: no horizontal scrolling (scrollWidth <= innerWidth); in dark mode
   (prefers-color-scheme emulated over CDP) the page's background differs
   from light mode's; axe-core, injected from the local file, reports no
   violation in either mode; the browser logs no error.
2. A reader opens /, fills in the subscribe form (EMAIL, a name), submits
   it, sees the "check your mailbox" page; the confirmation mail's link
   opens the confirm page, whose button confirms.
Each checker is first shown a page it must reject (an overflowing
element, an image without alt), so that a silent checker cannot pass.
Prints one "ok: ..." line per step; exits 1 with the reason otherwise.
"""
import json
import os
import shutil
import sys
import tempfile
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import site_mail  # noqa: E402
from browser import (WAIT, axe, chrome, dark, errors, fail,  # noqa: E402
                     load, width)

BASE, MAILDIR, AXE, UNSUB, STATEMENT, EMAIL = sys.argv[1:7]


def overflow(d):
    return d.execute_script("return [document.documentElement.scrollWidth, "
                            "window.innerWidth]")


def background(d):
    return d.execute_script(
        "return getComputedStyle(document.documentElement).backgroundColor")


def check_page(d, url, name, src):
    load(d, url)
    for w in (360, 1280):
        width(d, w)
        load(d, url)
        sw, iw = overflow(d)
        if iw != w:
            fail("%s: window %d wide, wanted %d" % (name, iw, w))
        if sw > iw:
            fail("%s at %d px: scrolls sideways (scrollWidth %d)" % (name, w, sw))
    dark(d, False)
    light = background(d)
    v = axe(d, src)
    if v:
        fail("%s: axe-core, light mode: %s" % (name, json.dumps(v)))
    dark(d, True)
    dk = background(d)
    if dk == light:
        fail("%s: dark mode keeps the background %s" % (name, light))
    v = axe(d, src)
    if v:
        fail("%s: axe-core, dark mode: %s" % (name, json.dumps(v)))
    dark(d, False)
    e = errors(d)
    if e:
        fail("%s: browser console: %s" % (name, json.dumps(e)))
    print("ok: %s: 360 and 1280 px without sideways scrolling, dark mode "
          "(%s against %s), no axe-core violation, no console error"
          % (name, dk, light))


def self_test(d, src):
    """Each check must catch a page that breaks it."""
    load(d, BASE + "/")
    width(d, 360)
    load(d, BASE + "/")
    d.execute_script("var e = document.createElement('div');"
                     "e.style.width = '900px'; e.textContent = 'wide';"
                     "document.body.appendChild(e);")
    # a phone's browser widens the layout viewport to fit such a page
    # (innerWidth grows), or scrolls it (scrollWidth grows): check_page
    # fails either way
    sw, iw = overflow(d)
    if sw <= 360 and iw == 360:
        fail("self-test: a 900 px element at 360 px not seen (%d, %d)" % (sw, iw))
    d.execute_script("var i = document.createElement('img');"
                     "i.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';"
                     "document.querySelector('main').appendChild(i);")
    v = axe(d, src)
    if "image-alt" not in [x[0] for x in v]:
        fail("self-test: axe-core missed an image without alt: %s" % json.dumps(v))
    d.execute_script("console.error('planted')")
    if not any("planted" in e.get("message", "") for e in errors(d)):
        fail("self-test: a console error was not recorded")
    width(d, 1280)
    print("ok: self-test: overflow, a missing alt and a console error are caught")


def main():
    src = open(AXE, encoding="utf-8").read()
    profile = tempfile.mkdtemp(prefix="broadside-chromium.")
    d = None
    try:
        d = chrome(profile)
        d.set_script_timeout(WAIT)
        d.set_page_load_timeout(WAIT)
        self_test(d, src)
        d.get_log("browser")    # drop what the self-test left
        for url, name in ((BASE + "/", "/"), (BASE + "/subscribe", "/subscribe"),
                          (BASE + "/archive/", "/archive/"),
                          (STATEMENT, "statement page"),
                          (UNSUB, "unsubscribe page")):
            check_page(d, url, name, src)

        # the reader subscribes from the front page
        width(d, 360)
        load(d, BASE + "/")
        d.find_element(By.ID, "email").send_keys(EMAIL)
        d.find_element(By.ID, "name").send_keys("Zoë Browser")
        d.find_element(By.CSS_SELECTOR, "form.subscribe button[type=submit]").click()
        WebDriverWait(d, WAIT).until(EC.title_is("Check your mailbox"))
        h1 = d.find_element(By.TAG_NAME, "h1").text
        if h1 != "Check your mailbox":
            fail("after subscribing: h1 %r" % h1)
        check_page(d, d.current_url, "subscribe answer", src)
        print("ok: subscribed from the form on /")

        deadline = time.monotonic() + WAIT
        while (url := site_mail.find(MAILDIR, EMAIL, "confirm")) is None:
            if time.monotonic() > deadline:
                fail("no confirmation mail for %s" % EMAIL)
            time.sleep(0.1)
        if not url.startswith(BASE + "/confirm?t="):
            fail("confirm link %s" % url)
        check_page(d, url, "confirm page", src)
        load(d, url)
        d.find_element(By.CSS_SELECTOR, "form[method=post] button[type=submit]").click()
        WebDriverWait(d, WAIT).until(EC.title_is("Subscription confirmed"))
        body = d.find_element(By.TAG_NAME, "main").text
        if EMAIL not in body:
            fail("confirmed page does not name %s: %r" % (EMAIL, body))
        e = errors(d)
        if e:
            fail("confirmed page: browser console: %s" % json.dumps(e))
        print("ok: confirm link from the mail opened, button pressed: confirmed")
    finally:
        if d is not None:
            d.quit()
        shutil.rmtree(profile, ignore_errors=True)


main()
