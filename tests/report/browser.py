"""Headless Chromium for the report tests: how wide a page lays out, whether its images load.

Chromium is Debian's ``chromium`` package; the tests that need it skip where it is absent. The
page is opened from a file with every network feature off, and a small script appended to a copy
of it records the layout width and the images that failed, read back from the dumped DOM.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars", "--mute-audio"]

_PROBE = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var wide = Array.prototype.slice.call(document.querySelectorAll('body *')).filter(function (e) {
    var r = e.getBoundingClientRect(); return r.right > window.innerWidth + 1 &&
      !e.closest('.table-wrap'); }).map(function (e) { return e.tagName; }).slice(0, 5);
  parent.postMessage(JSON.stringify({
    scroll_width: document.documentElement.scrollWidth, inner_width: window.innerWidth,
    images: imgs.length,
    broken: imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); }).length,
    wide: wide}), '*');
});
</script>"""


def _framed(page: Path, width: int, height: int, probe_script: str) -> str:
    """An outer page holding ``page`` in an iframe ``width`` px wide.

    Headless Chromium will not make a window narrower than 500 px, so a phone-width layout is
    obtained the way a browser's device mode does it: the page gets a viewport of ``width`` px
    inside a wider window (its media queries see ``width``).
    """
    inner = page.read_text(encoding="utf-8").replace("</body>", probe_script + "</body>")
    return ("<!DOCTYPE html><html><body style='margin:0'>"
            f"<iframe style='border:0;width:{width}px;height:{height}px' "
            f'srcdoc="{html.escape(inner, quote=True)}"></iframe>'
            "<script>window.addEventListener('message', function (e) {"
            "document.body.setAttribute('data-probe', e.data); });</script></body></html>")


def _run(args: list[str], profile: str) -> str:
    done = subprocess.run([CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=False)
    return done.stdout


def probe(page: Path, width: int, height: int = 900) -> dict:
    """Layout facts of ``page`` at a window ``width`` px wide (scroll width, images, overflow)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "page.html"
        copy.write_text(_framed(page, width, height, _PROBE), encoding="utf-8")
        out = _run([f"--window-size={max(width, 500) + 20},{height}", "--virtual-time-budget=10000",
                    "--dump-dom", copy.as_uri()], str(Path(tmp) / "profile"))
    found = re.search(r'data-probe="([^"]*)"', out)
    if not found:
        raise RuntimeError("Chromium did not report the page's layout:\n" + out[-2000:])
    return json.loads(html.unescape(found.group(1)))


def screenshot(page: Path, out: Path, width: int, height: int = 2400) -> Path:
    """A PNG of the top ``height`` px of ``page`` at ``width`` px wide."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "page.html"
        copy.write_text(_framed(page, width, height, ""), encoding="utf-8")
        _run([f"--window-size={width},{height}", "--virtual-time-budget=10000",
              f"--screenshot={out}", copy.as_uri()], str(Path(tmp) / "profile"))
    return out
