"""PDF from self-contained HTML, printed by a local headless Chromium.

Playwright drives the system's Chromium (``/usr/bin/chromium`` from Debian, or
``$PHONEHOME_CHROMIUM``); no browser is downloaded. Without the Playwright package, Chromium's
own ``--print-to-pdf`` is run directly. Either way Chromium may not reach the network: the HTML
is loaded from memory or a local file, every host name resolves to nothing, background services
are off, and every request is aborted (Playwright) or sent to a closed loopback port (direct).

Chromium stamps the PDF with the current time; that stamp is replaced with the caller's
``created`` time so equal HTML gives equal bytes.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import tempfile
from html import escape
from pathlib import Path

from phonehome.outputs.interface import OutputError

ENV_CHROMIUM = "PHONEHOME_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_SECONDS = 120.0

OFFLINE_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--dns-prefetch-disable",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-domain-reliability",
    "--disable-sync",
    "--disable-extensions",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
)
"""Flags that keep Chromium off the network and away from per-user state."""

DEAD_PROXY_ARGS = ("--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>")
"""Without Playwright's request interception, every request (IP literals and loopback included)
goes to a closed port on loopback and fails."""

_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) \((D:[0-9]{14}[^)]{0,12})\)")


class PdfError(OutputError):
    """Chromium is missing or failed to print."""


def find_chromium() -> str | None:
    """``$PHONEHOME_CHROMIUM`` if set, else the first Chromium on ``PATH``."""
    configured = os.environ.get(ENV_CHROMIUM)
    if configured:
        return configured if Path(configured).exists() else shutil.which(configured)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _pdf_date(created: str) -> str:
    text = created.strip()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PdfError(f"pdf: not an ISO 8601 time: {created!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("D:%Y%m%d%H%M%S+00'00'")


def fix_dates(pdf: bytes, created: str) -> bytes:
    """Replace Chromium's creation and modification times with ``created``.

    Only same-length replacements are made, so the cross-reference offsets stay valid.
    """
    stamp = _pdf_date(created).encode()

    def swap(m: re.Match[bytes]) -> bytes:
        if len(m.group(2)) != len(stamp):
            return m.group(0)
        return b"/" + m.group(1) + b" (" + stamp + b")"

    return _PDF_DATE.sub(swap, pdf)


def _environment() -> dict[str, str | float | bool]:
    env: dict[str, str | float | bool] = {
        k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")
    }
    env["TZ"] = "UTC"
    return env


def _with_playwright(html: str, chromium: str, footer: str | None) -> bytes:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    footer_html = (
        '<div style="font-size:7pt;width:100%;text-align:center;color:#4f5661;'
        f'font-family:sans-serif;">{escape(footer or "")} · page <span class="pageNumber">'
        '</span> of <span class="totalPages"></span></div>'
    )
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium,
                args=[*OFFLINE_ARGS, "--no-proxy-server"],
                env=_environment(),
                timeout=TIMEOUT_SECONDS * 1000,
            )
            try:
                context = browser.new_context(offline=True, java_script_enabled=False)
                context.route("**/*", lambda route: route.abort())
                page = context.new_page()
                page.set_content(html, wait_until="load", timeout=TIMEOUT_SECONDS * 1000)
                return page.pdf(
                    prefer_css_page_size=True,
                    print_background=True,
                    display_header_footer=footer is not None,
                    header_template="<span></span>",
                    footer_template=footer_html if footer is not None else "<span></span>",
                    tagged=True,
                    outline=True,
                )
            finally:
                browser.close()
    except PlaywrightError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PdfError(f"pdf: {chromium}: Chromium failed to print ({first})") from e


def _with_subprocess(html: str, chromium: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="phonehome-pdf-") as tmp:
        root = Path(tmp)
        source = root / "report.html"
        target = root / "report.pdf"
        source.write_text(html, encoding="utf-8")
        command = [
            chromium,
            "--headless",
            *OFFLINE_ARGS,
            *DEAD_PROXY_ARGS,
            f"--user-data-dir={root / 'profile'}",
            "--no-pdf-header-footer",
            "--print-to-pdf-no-header",
            "--generate-pdf-document-outline",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
                env={k: str(v) for k, v in _environment().items()},
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as e:
            raise PdfError(f"pdf: {chromium}: no PDF after {TIMEOUT_SECONDS:.0f} s") from e
        except OSError as e:
            raise PdfError(f"pdf: {chromium}: cannot run ({e.strerror or e})") from e
        if not target.exists() or target.stat().st_size == 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            why = lines[-1] if lines else f"exit status {done.returncode}"
            raise PdfError(f"pdf: {chromium}: Chromium wrote no PDF ({why})")
        return target.read_bytes()


def playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def _print(html: str, exe: str, footer: str | None, engine: str) -> bytes:
    if engine == "playwright" or (engine == "auto" and playwright_available()):
        try:
            return _with_playwright(html, exe, footer)
        except PdfError:
            if engine == "playwright":
                raise
            # A Chromium too new or too old for this Playwright still prints on its own.
            return _with_subprocess(html, exe)
    if engine in ("auto", "chromium"):
        return _with_subprocess(html, exe)
    raise PdfError(f"pdf: unknown engine {engine!r} (expected auto, playwright or chromium)")


def html_to_pdf(
    html: str,
    *,
    created: str,
    footer: str | None = None,
    engine: str = "auto",
    chromium: str | None = None,
) -> bytes:
    """Print self-contained ``html`` to PDF; ``created`` (ISO 8601) becomes the PDF's dates.

    ``engine`` is ``auto`` (Playwright when installed and working, else Chromium directly),
    ``playwright`` or ``chromium``. ``footer`` adds a page-number footer (Playwright only); it
    holds no date other than what the caller passes. Raises ``PdfError``.
    """
    exe = chromium or find_chromium()
    if exe is None:
        raise PdfError(
            "pdf: Chromium not found; install it (Debian: apt-get install chromium) "
            f"or set {ENV_CHROMIUM} to its path"
        )
    data = _print(html, exe, footer, engine)
    if not data.startswith(b"%PDF-"):
        raise PdfError(f"pdf: {exe}: output is not a PDF")
    return fix_dates(data, created)
