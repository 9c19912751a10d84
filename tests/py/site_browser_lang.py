#!/usr/bin/python3
"""site_browser_lang.py -- a Spanish reader in headless Chromium, for
tests/integration/site_browser_lang.sh (issue 14 part 3).

  site_browser_lang.py subscribe BASE_URL MAILDIR AXE_JS EMAIL
      open /, choose Español in the form's language field, fill in the
      address, submit, open the confirmation mail's link (the test SMTP
      server's maildir): the confirm page is in Spanish; press its button.
  site_browser_lang.py pages BASE_URL AXE_JS ID
      /archive/ID/es: lang="es", its hreflang links to /archive/ID (en)
      and itself, its feed link /feed.es.xml; /archive/ID/ar: dir="rtl"
      and the browser lays it out right to left; both at 360 and 1280 px
      (no sideways scrolling), in dark mode, axe-core without violation,
      no console error.
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
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import site_mail  # noqa: E402
from browser import (WAIT, axe, chrome, dark, errors, fail,  # noqa: E402
                     load, width)


def check_page(d, url, name, src):
    for w in (360, 1280):
        width(d, w)
        load(d, url)
        sw, iw = d.execute_script("return [document.documentElement."
                                  "scrollWidth, window.innerWidth]")
        if iw != w or sw > iw:
            fail("%s at %d px: scrollWidth %d, innerWidth %d" % (name, w, sw, iw))
    for on in (False, True):
        dark(d, on)
        v = axe(d, src)
        if v:
            fail("%s: axe-core (%s mode): %s" % (name, "dark" if on else
                                                 "light", json.dumps(v)))
    dark(d, False)
    e = errors(d)
    if e:
        fail("%s: browser console: %s" % (name, json.dumps(e)))


def subscribe(d, base, maildir, email):
    width(d, 360)
    load(d, base + "/")
    lang = Select(d.find_element(By.ID, "lang"))
    names = [o.text for o in lang.options]
    if "Español" not in names:
        fail("the form offers %r, no Español" % names)
    lang.select_by_value("es")
    d.find_element(By.ID, "email").send_keys(email)
    d.find_element(By.ID, "name").send_keys("Lectora Española")
    d.find_element(By.CSS_SELECTOR, "form.subscribe button[type=submit]").click()
    WebDriverWait(d, WAIT).until(EC.title_is("Check your mailbox"))
    print("ok: subscribed from the form on / with Español chosen (%s)" % ", ".join(names))
    deadline = time.monotonic() + WAIT
    while (url := site_mail.find(maildir, email, "confirm")) is None:
        if time.monotonic() > deadline:
            fail("no confirmation mail for %s" % email)
        time.sleep(0.1)
    if not url.startswith(base + "/confirm?t="):
        fail("confirm link %s" % url)
    load(d, url)
    # the confirm page speaks the reader's language, not the site's
    if d.find_element(By.TAG_NAME, "html").get_attribute("lang") != "es" or \
            d.title != "Confirma tu suscripción":
        fail("confirm page: lang %r, title %r" % (
            d.find_element(By.TAG_NAME, "html").get_attribute("lang"), d.title))
    button = d.find_element(By.CSS_SELECTOR, "form[method=post] button[type=submit]")
    if button.text != "Confirmar mi suscripción":
        fail("confirm button %r" % button.text)
    button.click()
    WebDriverWait(d, WAIT).until(EC.title_is("Suscripción confirmada"))
    print("ok: the confirmation mail's link opened the confirm page in Spanish, "
          "'Confirmar mi suscripción' pressed: 'Suscripción confirmada'")


def pages(d, base, src, bid):
    es = "%s/archive/%s/es" % (base, bid)
    check_page(d, es, "Spanish page", src)
    load(d, es)
    if d.find_element(By.TAG_NAME, "html").get_attribute("lang") != "es":
        fail("/archive/%s/es: html lang is not es" % bid)
    alts = {e.get_attribute("hreflang"): e.get_attribute("href") for e in
            d.find_elements(By.CSS_SELECTOR, "link[rel=alternate][hreflang]")}
    want = {"en": "%s/archive/%s" % (base, bid), "es": es,
            "ar": "%s/archive/%s/ar" % (base, bid)}
    if alts != want:
        fail("hreflang links %r, want %r" % (alts, want))
    feed = d.find_element(By.CSS_SELECTOR, "link[type='application/rss+xml']")
    if feed.get_attribute("href") != base + "/feed.es.xml":
        fail("the Spanish page's feed link: %s" % feed.get_attribute("href"))
    h1 = d.find_element(By.TAG_NAME, "h1").text
    print("ok: %s: lang es, hreflang en/es/ar, feed /feed.es.xml, %r; "
          "360/1280 px, dark mode, axe-core clean" % (es, h1))
    ar = "%s/archive/%s/ar" % (base, bid)
    check_page(d, ar, "Arabic page", src)
    load(d, ar)
    html = d.find_element(By.TAG_NAME, "html")
    direction = d.execute_script(
        "return getComputedStyle(document.querySelector('h1')).direction")
    if html.get_attribute("dir") != "rtl" or direction != "rtl":
        fail("/archive/%s/ar: dir %r, laid out %r" % (bid, html.get_attribute("dir"), direction))
    print("ok: %s: dir=rtl, laid out right to left; axe-core clean" % ar)


def main():
    mode = sys.argv[1]
    profile = tempfile.mkdtemp(prefix="broadside-chromium.")
    d = None
    try:
        d = chrome(profile)
        d.set_script_timeout(WAIT)
        d.set_page_load_timeout(WAIT)
        if mode == "subscribe":
            subscribe(d, sys.argv[2], sys.argv[3], sys.argv[5])
        else:
            pages(d, sys.argv[2], open(sys.argv[3], encoding="utf-8").read(),
                  sys.argv[4])
    finally:
        if d is not None:
            d.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
