"""Check a feed written by `FEED_OUT=PATH render_test` with feedparser:
well-formed (bozo 0), newest first, titles, links, guids, dates, the
atom self link and the HTML body surviving "]]>" intact."""
import sys
import time

import feedparser

BASE = "https://valley.example.org"


def main(path):
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    d = feedparser.parse(raw)
    assert d.bozo == 0, "bozo: %r" % (d.get("bozo_exception"),)
    assert d.version == "rss20", d.version
    assert d.feed.title == "Lower Valley Letters", d.feed.title
    selfs = [l for l in d.feed.get("links", []) if l.get("rel") == "self"]
    assert selfs and selfs[0]["href"] == BASE + "/feed.xml", d.feed.links
    want = [
        (2, "Bridges & ]]> brackets <b>not bold</b>", (2026, 3, 1)),
        (3, "Ça ira – “Zoë’s” café…", (2026, 2, 1)),
        (1, "Older news: the ferry timetable", (2026, 1, 1)),
    ]
    assert len(d.entries) == len(want), len(d.entries)
    for e, (bid, title, date) in zip(d.entries, want):
        url = "%s/archive/%d" % (BASE, bid)
        assert e.title == title, (e.title, title)
        assert e.link == url, (e.link, url)
        assert e.id == url, (e.id, url)
        # feedparser does not report isPermaLink when <link> is present
        assert ('<guid isPermaLink="true">%s</guid>' % url) in raw, url
        assert tuple(e.published_parsed[:6]) == date + (0, 0, 0), \
            e.published_parsed
    dates = [time.mktime(e.published_parsed) for e in d.entries]
    assert dates == sorted(dates, reverse=True), "not newest first"
    body = d.entries[0].content[0].value
    want_body = "<p>Code: <code>a[b[c]]></code> and ]]> again]]]></p>"
    assert body.strip() == want_body, repr(body)
    assert "ünïcödé" in d.entries[1].content[0].value
    print("feed ok: %d items" % len(d.entries))


if __name__ == "__main__":
    main(sys.argv[1])
