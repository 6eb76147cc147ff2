"""What the browser suite shares: the hub it runs against, its API and CLI, and a
headless Chromium that records every page it shows.

The runner (scripts/testing/browser) starts `outpost dev` and sets:
  OUTPOST_HUB, OUTPOST_TOKEN   the hub's URL and its admin token (from DATA_DIR/env)
  OUTPOST_BINARY               the `outpost` binary, for the CLI
  OUTPOST_BROWSER_ARTIFACTS    where screenshots go (default test-artifacts/console)
"""

import http.client
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

HUB = os.environ.get("OUTPOST_HUB", "").rstrip("/")
TOKEN = os.environ.get("OUTPOST_TOKEN", "")
BINARY = os.environ.get("OUTPOST_BINARY", ".build/debug/outpost")
ARTIFACTS = os.environ.get("OUTPOST_BROWSER_ARTIFACTS", "test-artifacts/console")
SESSION_COOKIE = "outpost_session"
# The dev agent `outpost dev` starts, and its untagged bash target.
DEV_AGENT = "local-agent"
DEV_TARGET = "local"
# How long an explicit wait for the page may take (a task's run adds its own time).
WAIT = 5
TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "lost", "rejected"}

_parsed = urllib.parse.urlsplit(HUB)
HUB_HOST = _parsed.hostname or "127.0.0.1"
HUB_PORT = _parsed.port or 80


# ---- the hub over plain HTTP ----------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage: case-insensitive get/get_all
        self.body = body

    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


def request(method, path, body=None, headers=None, timeout=30):
    """One request to the hub; redirects are not followed (a 303 is an answer)."""
    conn = http.client.HTTPConnection(HUB_HOST, HUB_PORT, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        return Response(res.status, res.headers, res.read())
    finally:
        conn.close()


def api(method, path, payload=None, token=None, expect=(200, 201, 204)):
    """The JSON API under /api/v1 with a bearer token (the admin token by default)."""
    headers = {"Authorization": "Bearer " + (token or TOKEN)}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    res = request(method, "/api/v1" + path, body, headers, timeout=90)
    if expect and res.status not in expect:
        raise AssertionError(f"{method} /api/v1{path}: HTTP {res.status}: {res.text()[:300]}")
    return res.json() if res.body else None


def submit_task(target, script, token=None):
    return api("POST", "/tasks", {"target": target, "script": script}, token=token)["id"]


def wait_task(task_id, seconds=30):
    """The task once it is terminal (the API's own ?wait=), or an AssertionError."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        task = api("GET", f"/tasks/{task_id}?wait={max(0, min(left, 30)):.1f}")
        if task["status"] in TERMINAL:
            return task
        if left <= 0:
            raise AssertionError(f"task {task_id} is still {task['status']} after {seconds} s")


def wait_running(task_id, seconds=10):
    deadline = time.monotonic() + seconds
    while True:
        status = api("GET", f"/tasks/{task_id}")["status"]
        if status == "running":
            return
        if status in TERMINAL or time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} is {status}, not running")
        time.sleep(0.1)


def task_ids():
    return {t["id"] for t in api("GET", "/tasks?limit=1000")["items"]}


def cli(*args):
    """The `outpost` CLI (same binary as the hub) with the admin token."""
    env = dict(os.environ, OUTPOST_HUB=HUB, OUTPOST_TOKEN=TOKEN)
    done = subprocess.run([BINARY, *args], env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"outpost {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def csp_directives(value):
    """'default-src 'self'; script-src 'self'' -> {'default-src': ["'self'"], ...}"""
    out = {}
    for part in (value or "").split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def hidden_field(html, name):
    """The value of <input ... name=NAME ... value=...> in a page, whatever the attribute order."""
    for tag in re.findall(r"<input\b[^>]*>", html, flags=re.I):
        if re.search(r"""\bname\s*=\s*["']?%s["'\s/>]""" % re.escape(name), tag + " ", flags=re.I):
            m = re.search(r"""\bvalue\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", tag, flags=re.I)
            if m:
                return next(g for g in m.groups() if g is not None)
    return None


# ---- the browser ------------------------------------------------------------

def new_driver():
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                "--disable-gpu", "--no-first-run", "--no-default-browser-check"):
        options.add_argument(arg)
    chromium = shutil.which("chromium")
    if chromium:
        options.binary_location = chromium
    options.page_load_strategy = "normal"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = shutil.which("chromedriver")
    if not driver_path:
        raise RuntimeError("no chromedriver on PATH: run scripts/services/browser install")
    # The local chromedriver: Selenium Manager never downloads anything.
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(10)
    return driver


class Browser:
    """A headless Chromium that, after every page it lands on, saves a screenshot,
    reads the console log for CSP violations and script errors, and looks for the API
    token and the session cookie's value in the page, its URL and the page's storage.
    What it finds is recorded (problems, leaks), for the tests to assert on: one
    broken page does not stop the other tests from checking their own behaviour."""

    def __init__(self):
        self.driver = new_driver()
        self.urls = []        # every URL landed on
        self.shots = []       # labels of the screenshots saved
        self.problems = []    # console errors seen (CSP violations, script errors), "url: message"
        self.leaks = []       # where the token or the cookie's value showed
        self._count = 0
        os.makedirs(ARTIFACTS, exist_ok=True)

    def quit(self):
        self.driver.quit()

    def wait(self, seconds=WAIT, poll=0.1):
        return WebDriverWait(self.driver, seconds, poll_frequency=poll,
                             ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))

    def wait_gone(self, element, seconds=WAIT):
        """Waits until the page holding element has been replaced (a form posted, a link
        followed). Chromedriver reports a node of the replaced document as stale, or, when
        asked while the new document is being built, with the inspector error "Node with
        given id does not belong to the document": both mean the old page is gone."""
        def gone(_):
            try:
                element.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except WebDriverException as error:
                if "does not belong to the document" in str(error):
                    return True
                raise
        self.wait(seconds).until(gone)

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def present(self, css, seconds=WAIT):
        return self.wait(seconds).until(lambda d: (d.find_elements(By.CSS_SELECTOR, css) or [None])[0])

    def text(self, css):
        """textContent of the first match, stripped ('' when absent): cheap even for a huge log."""
        value = self.driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", css)
        return (value or "").strip()

    def cookie_value(self):
        c = self.driver.get_cookie(SESSION_COOKIE)
        return c["value"] if c else None

    def visit(self, path, label):
        self.driver.get(HUB + path)
        return self.landed(label)

    def landed(self, label):
        """Records the page the browser is on now (after a get or a form's redirect)."""
        d = self.driver
        self.wait().until(lambda d: d.execute_script("return document.readyState") == "complete")
        url = d.current_url
        self.urls.append(url)
        self._count += 1
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", label)
        d.save_screenshot(os.path.join(ARTIFACTS, f"{self._count:02d}-{name}.png"))
        self.shots.append(label)
        self.check_console(url)
        self.check_no_secrets(url)
        return url

    def check_console(self, url):
        for entry in self.driver.get_log("browser"):
            message = entry.get("message", "")
            if "Content Security Policy" in message or "Content-Security-Policy" in message:
                self.problems.append(f"{url}: CSP violation: {message}")
            elif entry.get("source") == "javascript" and entry.get("level") == "SEVERE":
                self.problems.append(f"{url}: script error: {message}")

    def check_no_secrets(self, url):
        secrets = [("the API token", TOKEN)]
        cookie = self.cookie_value()
        if cookie:
            secrets.append(("the session cookie's value", cookie))
        source = self.driver.page_source
        storage = self.driver.execute_script(
            "const out = [];"
            "for (const s of [window.localStorage, window.sessionStorage]) {"
            "  for (let i = 0; i < s.length; i++) { const k = s.key(i); out.push(k, s.getItem(k)); } }"
            "return out.join('\\n');")
        for what, value in secrets:
            if not value:
                continue
            if value in url:
                self.leaks.append(f"{what} is in the URL {url}")
            if value in source:
                self.leaks.append(f"{what} is in the page source of {url}")
            if value in storage:
                self.leaks.append(f"{what} is in localStorage/sessionStorage on {url}")

    def sign_in(self, token=None):
        self.visit("/sign-in", "sign-in")
        field = self.present("input#token")
        field.clear()
        field.send_keys(token or TOKEN)
        self.find("#sign-in-submit").click()
        self.wait().until(lambda d: urllib.parse.urlsplit(d.current_url).path != "/sign-in"
                          or d.find_elements(By.CSS_SELECTOR, "#flash-error"))
        return self.landed("after-sign-in")

    def ensure_signed_in(self):
        if not self.cookie_value():
            self.sign_in()
            path = urllib.parse.urlsplit(self.driver.current_url).path
            if path != "/tasks":
                raise AssertionError(f"signing in landed on {self.driver.current_url}, not /tasks")

    def path(self):
        return urllib.parse.urlsplit(self.driver.current_url).path

    def status_code(self):
        """The HTTP status of the page shown (Navigation Timing's responseStatus)."""
        return self.driver.execute_script(
            "const n = performance.getEntriesByType('navigation')[0]; return n ? n.responseStatus : null;")
