"""Fixtures shared by the local tests: a whole local stack (`local.stack`) on free ports, one per
test module that asks for it, stopped when the module is done. A module never stops a stack another
module uses, so each passes alone and in any order (scripts/test runs them shuffled).

- `stack`: the HTTP API (v2) stack; `rest_stack`: the REST API (v1) one with auto-start.
- `module_stack(name, *options)`: another module-scoped stack with `local.stack` options.
- `Browser`: one person's browser over HTTP (cookies, no redirects followed).
- `start_stack(*options)`: a stack of the test's own, stopped after the test (to read its log).
- `Stack.sweep()`: one scheduled sweep of the stack's function (test stacks have no schedule).
- `standin`: the SageMaker/Cognito stand-in alone (its moto and page URLs), one per module.

For the browser tests (test_portal*.py): `browser` (Debian's headless Chromium, one per module),
`Visit` (one person's browser context on a stack), `visits(browser, stack)` for a module's own
stack's fixture, `visit` on `stack`, `eventually`, `LOW_CONTRAST` and `shot` (screenshots for a
reviewer in test-output/portal/).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import jwt
import pytest
from moto.utilities.utils import load_resource
from playwright.sync_api import Page, expect, sync_playwright

from local.serve import Child
from local.stack import DEMO_USERS, ROOT, SWEEP_EVENT, start_standin, token

BINARY = os.environ.get("NOTEBOOK_GATE_BINARY", str(ROOT / "target/release/notebook-gate"))
# The sign-in trigger a `--federated` stack runs (scripts/test-artifact: the arm64 one).
TRIGGER_BINARY = os.environ.get("NOTEBOOK_GATE_TRIGGER_BINARY", str(ROOT / "target/release/sign-in-trigger"))
# A test stack's function is configured with the first seeded Studio domain only, as before issue
# 15 (`scripts/dev up` configures both); a module passes `--studio-domains 2` (or 0) for more. A
# later option wins, so `args` override these. A test stack sweeps only when its test says so
# (`Stack.sweep()`), not on `scripts/dev up`'s schedule, and has the world the tests were written
# for, without the running-time demo's targets (a module passes `--cost-demo` for them).
DEFAULTS = ("--studio-domains", "1", "--sweep-every", "0", "--no-cost-demo")


class Stack:
    """A running `local.stack`: `state` is what it printed after `ready` (its URLs, ids, users)."""

    def __init__(self, tmp: Path, *args: str):
        self.log = tmp / "function.log"
        self.child = Child([sys.executable, "-m", "local.stack", "--binary", BINARY,
                            "--trigger-binary", TRIGGER_BINARY, "--port", "0",
                            "--portal-port", "0", "--state", str(tmp / "stack.json"), "--function-log",
                            str(self.log), *DEFAULTS, *args])
        self.process = self.child.process
        self.state = json.loads(self.child.ready)

    @property
    def output(self) -> str:
        """What the stack printed so far (its last 2,000 lines)."""
        return self.child.text()

    def stop(self):
        self.child.stop()

    def token(self, user: str, kind: str = "AccessToken") -> str:
        return token(self.state["moto"], self.state["client_id"], user, kind)

    def invoke(self, event: dict) -> dict:
        """The function's result for `event`, through Lambda's Invoke API as the schedule calls it; a
        function error fails the test with what the function reported."""
        request = urllib.request.Request(self.state["invoke"], data=json.dumps(event).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read() or b"null")
            error = response.headers.get("X-Amz-Function-Error")
        assert not error, f"the function failed ({error}): {body}"
        return body

    def sweep(self) -> dict:
        """One scheduled sweep (the schedule's `{"notebook-gate": "sweep"}`): the function's
        `{"sweep": {"checked", "stopped", "kept", "failed"}}`."""
        return self.invoke(SWEEP_EVENT)

    def mint(self, user: str = "alice", kind: str = "AccessToken", **claims) -> str:
        """`user`'s token with `claims` changed (None: removed), signed with the private key moto
        ships and signs every pool's tokens with: what anyone can do to the local stack."""
        original = self.token(user, kind)
        payload = {**jwt.decode(original, options={"verify_signature": False}), **claims}
        payload = {k: v for k, v in payload.items() if v is not None}
        key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(load_resource("cognitoidp/resources/jwks-private.json")))
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": jwt.get_unverified_header(original)["kid"]})

    def get(self, path: str, token: str | None = None, accept: str = "application/json", base: str | None = None,
            headers: dict | None = None):
        request = urllib.request.Request((base or self.state["gateway"]) + path, headers={"Accept": accept, **(headers or {})})
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    @staticmethod
    def page(url: str):
        return open_page(url)

    def control(self, method: str, path: str, body=None, base: str | None = None):
        """A test control of the stand-in's page server (`/_faults`, ...), or of the server at `base`
        (the company identity provider's, say); its JSON answer. An error status raises."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request((base or self.state["page"]) + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
            return json.loads(text) if text else None


def history(page) -> list[str]:
    """Every entry of a tab's session history as Chromium keeps it (DevTools protocol), which a
    page's own script cannot read: where a token left in a URL would stay."""
    session = page.context.new_cdp_session(page)
    try:
        return [entry["url"] for entry in session.send("Page.getNavigationHistory")["entries"]]
    finally:
        session.detach()


def open_page(url: str, **headers: str) -> tuple[int, dict]:
    """Opens a presigned URL on the stand-in notebook page, as the browser would: its status and
    what the page says it opened (or why it refused). `headers` may say where the browser is
    (`**{"X-Local-Source-Ip": "10.1.2.3"}` or `X-Local-Source-Vpce`), for the page's IAM check."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One person's browser over HTTP: a cookie jar shared by every origin it visits, no redirects
    followed (a test reads each Location itself)."""

    def __init__(self):
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect(),
                                                  urllib.request.ProxyHandler({}))

    def open(self, url: str, form: dict | None = None) -> tuple[int, dict, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(urllib.request.Request(url, data=data), timeout=30) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)


def module_stack(name: str, *args: str):
    """A fixture `name`: a module's own stack (`local.stack` options `args`), stopped after it."""

    @pytest.fixture(scope="module", name=name)
    def fixture(tmp_path_factory):
        s = Stack(tmp_path_factory.mktemp(name), *args)
        yield s
        s.stop()

    return fixture


# The HTTP API (v2) stack, and the REST API (v1) one with auto-start: each module gets its own.
stack = module_stack("stack")
rest_stack = module_stack("rest_stack", "--payload", "v1", "--auto-start")


@pytest.fixture(scope="module")
def standin():
    """The SageMaker/Cognito stand-in alone, one per module that asks: its (moto, page) URLs."""
    child, moto, page = start_standin()
    yield moto, page
    child.stop(10)


@pytest.fixture
def start_stack(tmp_path):
    """Starts a stack of the test's own (`start_stack(*options)`); all are stopped after the test."""
    started: list[Stack] = []

    def start(*args: str) -> Stack:
        started.append(Stack(tmp_path / str(len(started)), *args))
        return started[-1]

    yield start
    for s in started:
        s.stop()


# The browser tests' shared parts.

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")  # Debian's; scripts/browser-env installs it
# As the machines' notes give them: no GPU, no sandbox as root, and nothing that phones home.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "test-output" / "portal"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_playwright() as playwright:
        # A fresh profile per run: nothing carried over from another.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True,
                                              env={**os.environ, "HOME": str(tmp_path_factory.mktemp("home"))})
        yield chromium
        chromium.close()


class Visit:
    """One person's browser: a fresh context, everything it requested, and what the page complained of."""

    def __init__(self, browser, stack: Stack, **context_options):
        self.stack = stack
        self.context = browser.new_context(**context_options)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)

    def open_portal(self, path: str = "/") -> Page:
        self.page.goto(self.stack.state["portal"] + path)
        return self.page

    def sign_in(self, user: str, password: str | None = None, path: str = "/"):
        self.open_portal(path)
        self.page.get_by_role("button", name="Sign in").click()
        self.fill_sign_in(user, password)
        expect(self.page.locator("#signed-in")).to_be_visible()

    def fill_sign_in(self, user: str, password: str | None = None):
        page = self.page
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password").fill(password or DEMO_USERS[user][0])
        page.get_by_role("button", name="Sign in").click()

    def stored_user(self) -> dict | None:
        raw = self.page.evaluate(
            "() => Object.keys(sessionStorage).filter(k => k.startsWith('oidc.user:')).map(k => sessionStorage.getItem(k))[0] ?? null")
        return json.loads(raw) if raw else None

    def rewrite_stored_user(self, **changes):
        self.page.evaluate("""changes => {
            const key = Object.keys(sessionStorage).find(k => k.startsWith('oidc.user:'));
            sessionStorage.setItem(key, JSON.stringify({...JSON.parse(sessionStorage.getItem(key)), ...changes}));
        }""", changes)

    def names(self, lists: str) -> list[str]:
        """The names in the rows of the lists `lists` (a CSS selector: "#notebook-list", ".space-list")."""
        return sorted(self.page.locator(f"{lists} .row-name").all_inner_texts())

    def close(self):
        self.context.close()


def visits(browser, stack: Stack):
    """A fixture's body: `start(**context_options)` opens a Visit on `stack`; all close afterwards."""
    opened = []

    def start(**options) -> Visit:
        opened.append(Visit(browser, stack, **options))
        return opened[-1]

    yield start
    for v in opened:
        v.close()


@pytest.fixture
def visit(browser, stack):
    yield from visits(browser, stack)


def eventually(page: Page, check, seconds: float = 10):
    """Polls `check` from here: Playwright's wait_for_function evaluates a string in the page,
    which the portal's CSP (rightly) refuses as eval."""
    for _ in range(int(seconds * 10)):
        if check():
            return
        page.wait_for_timeout(100)
    assert check(), "not within the time given"


# Every visible element that holds text, with its colour against the first opaque background
# behind it, as WCAG 2 computes contrast (all the portal's text is "normal" size: 4.5:1).
LOW_CONTRAST = """() => {
  const rgb = (css) => css.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => [r, g, b].map((v) => v / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const color = rgb(getComputedStyle(e).backgroundColor);
      if (color.length < 4 || color[3] > 0) return color;
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const element of document.body.querySelectorAll("*")) {
    const hasText = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!hasText || !element.checkVisibility()) continue;
    const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(background(element))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(`${element.tagName}.${element.className} "${element.textContent.trim()}" ${ratio.toFixed(2)}`);
  }
  return low;
}"""


def shot(page: Page, name: str, full_page: bool = True):
    """A screenshot for a reviewer; a modal dialog's is of the viewport, as a person sees it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=full_page)
