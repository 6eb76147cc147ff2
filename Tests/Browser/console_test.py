"""The web console in a real browser (headless Chromium through Selenium), against a
real `outpost dev` that scripts/testing/browser starts, written against the
console's page contract: its URLs, element ids and behaviours.

The tests share one browser and run in the order of their names (unittest sorts
them): draining the dev agent comes last, since a draining agent takes no new work.
"""

import http.client
import http.server
import os
import re
import sys
import threading
import time
import unittest
import urllib.parse

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

import console_support as s


def row_ids(browser, css="#tasks tr[data-task]", attribute="data-task"):
    return [e.get_attribute(attribute) for e in browser.find_all(css)]


class ConsoleTest(unittest.TestCase):
    browser = None

    @classmethod
    def setUpClass(cls):
        if not s.HUB or not s.TOKEN:
            raise unittest.SkipTest("OUTPOST_HUB and OUTPOST_TOKEN are unset: run scripts/testing/browser")
        cls.browser = s.Browser()

    @classmethod
    def tearDownClass(cls):
        if cls.browser:
            cls.browser.quit()

    @property
    def b(self):
        return self.browser

    @property
    def d(self):
        return self.browser.driver

    def wait_status(self, word, seconds):
        """Waits until #task-status reads WORD, on the page as it is (no reload)."""
        try:
            self.b.wait(seconds).until(lambda d: self.b.text("#task-status") == word)
        except Exception:
            self.fail(f"#task-status is {self.b.text('#task-status')!r} after {seconds} s, not {word!r} "
                      f"(on {self.d.current_url})")

    def open_run_form(self):
        self.b.visit("/run", "run")
        self.assertEqual(self.b.path(), "/run")
        return self.b.present("form#run")

    def run_from_form(self, script, target=s.DEV_TARGET):
        """Submits /run; returns the new task's id from the page it lands on."""
        self.open_run_form()
        Select(self.b.find("select#run-target")).select_by_value(target)
        area = self.b.find("textarea#run-script")
        area.clear()
        area.send_keys(script)
        self.b.find("#run-submit").click()
        self.b.wait().until(lambda d: re.fullmatch(r"/tasks/[^/]+", self.b.path()))
        task_id = self.b.path().rsplit("/", 1)[1]
        self.b.landed("task")
        return task_id

    # ---- session ------------------------------------------------------------

    def test_01_sign_in_with_the_admin_token(self):
        b = self.b
        # Signed out, a page sends the browser to the sign-in form.
        b.visit("/tasks", "signed-out-redirect")
        self.assertEqual(b.path(), "/sign-in")
        res = s.request("GET", "/tasks")
        self.assertEqual(res.status, 303, "GET /tasks signed out")
        self.assertTrue(res.headers.get("Location", "").endswith("/sign-in"), res.headers.get("Location"))

        # A wrong token: the form again, 401, with an error.
        b.visit("/sign-in", "sign-in")
        self.assertEqual(b.find("input#token").get_attribute("type"), "password")
        self.assertTrue(b.find_all("label[for=token]"), "input#token has no <label for=token>")
        b.find("input#token").send_keys("not-a-token")
        b.find("#sign-in-submit").click()
        b.present("#flash-error")
        b.landed("sign-in-refused")
        self.assertEqual(b.path(), "/sign-in")
        self.assertEqual(b.status_code(), 401)
        self.assertTrue(b.text("#flash-error"), "#flash-error is empty")
        self.assertIsNone(b.driver.get_cookie(s.SESSION_COOKIE))

        # The admin token: on to /tasks with a strict, HttpOnly session cookie.
        b.sign_in()
        self.assertEqual(b.path(), "/tasks")
        cookie = b.driver.get_cookie(s.SESSION_COOKIE)
        self.assertIsNotNone(cookie, "no outpost_session cookie after signing in")
        self.assertTrue(cookie.get("httpOnly"), f"cookie is not HttpOnly: {cookie}")
        self.assertEqual(cookie.get("sameSite"), "Strict", f"cookie: {cookie}")
        self.assertFalse(cookie.get("secure"), "Secure cookie on plain http: the browser would never send it back")
        self.assertEqual(cookie.get("path"), "/")
        self.assertNotEqual(cookie["value"], s.TOKEN)
        self.assertNotIn(s.TOKEN, cookie["value"])
        # The token is not readable by scripts, nor kept in the page's storage.
        self.assertNotIn(s.SESSION_COOKIE, b.driver.execute_script("return document.cookie"))
        b.check_no_secrets(b.driver.current_url)
        self.assertEqual(b.leaks, [])
        whoami = b.text("#whoami")
        self.assertTrue(whoami, "#whoami is empty")
        self.assertIn("admin", whoami)

    # ---- every page: headers, CSP, layout ---------------------------------------

    def test_02_every_page_has_the_security_headers_and_obeys_its_csp(self):
        b = self.b
        b.ensure_signed_in()
        task_id = s.submit_task(s.DEV_TARGET, "echo headers")
        s.wait_task(task_id)
        cookie = "%s=%s" % (s.SESSION_COOKIE, b.cookie_value())
        pages = [
            ("/tasks", "tasks"), (f"/tasks/{task_id}", "task"), ("/run", "run"), ("/agents", "agents"),
            (f"/agents/{s.DEV_AGENT}", "agent"), ("/agent-types", "agent-types"), ("/targets", "targets"),
            ("/targets/new", "target-form"), (f"/targets/{s.DEV_TARGET}/edit", "target-form-edit"),
        ]
        for path, label in pages + [("/sign-in", None)]:
            with self.subTest(headers=path):
                res = s.request("GET", path, headers={"Cookie": cookie} if label else {})
                self.assertEqual(res.status, 200, f"GET {path}")
                self.assertIn("text/html", res.headers.get("Content-Type", ""))
                csp = s.csp_directives(res.headers.get("Content-Security-Policy"))
                self.assertIn("'self'", csp.get("default-src", []), f"{path}: CSP {csp}")
                self.assertIn("'self'", csp.get("script-src", []), f"{path}: CSP {csp}")
                self.assertNotIn("'unsafe-inline'", csp.get("script-src", []), f"{path}: CSP {csp}")
                self.assertEqual(csp.get("frame-ancestors"), ["'none'"], f"{path}: CSP {csp}")
                self.assertEqual(res.headers.get("X-Frame-Options", "").upper(), "DENY", path)
                self.assertEqual(res.headers.get("X-Content-Type-Options", "").lower(), "nosniff", path)
                self.assertEqual(res.headers.get("Referrer-Policy", "").lower(), "no-referrer", path)
                self.assertIn("no-store", res.headers.get("Cache-Control", ""), path)
                # Signed in, no page carries the token or the cookie's value.
                self.assertFalse(s.TOKEN in res.text(), f"{path}: the API token is in the page")
                self.assertFalse(b.cookie_value() in res.text(), f"{path}: the session cookie's value is in the page")
        for path, label in pages:
            with self.subTest(page=path):
                before = len(b.problems)
                b.visit(path, label)
                self.assertEqual(b.path(), path, "redirected away")
                self.assertEqual(b.problems[before:], [], f"browser console on {path}")
                # The layout of every signed-in page.
                for nav, href in (("nav-tasks", "/tasks"), ("nav-run", "/run"), ("nav-agents", "/agents"),
                                  ("nav-agent-types", "/agent-types"), ("nav-targets", "/targets")):
                    links = b.find_all(f"nav#nav a#{nav}")
                    self.assertTrue(links, f"{path}: no nav#nav a#{nav}")
                    self.assertEqual(urllib.parse.urlsplit(links[0].get_attribute("href")).path, href)
                self.assertTrue(b.find_all("form#sign-out button#sign-out-submit"), f"{path}: no sign-out form")
                self.assertTrue(b.text("#whoami"), f"{path}: #whoami is empty")
                # Every form control has a label.
                unlabelled = b.driver.execute_script(
                    "return [...document.querySelectorAll('input, select, textarea')]"
                    ".filter(e => e.type !== 'hidden' && e.type !== 'submit' && e.type !== 'button')"
                    ".filter(e => !e.id || !document.querySelector('label[for=\"' + CSS.escape(e.id) + '\"]'))"
                    ".map(e => e.outerHTML.slice(0, 120));")
                self.assertEqual(unlabelled, [], f"{path}: form controls without <label for>")
        # The agents page lists the dev agent in the contract's words.
        b.visit("/agents", "agents")
        status = b.text(f'#agents tr[data-agent="{s.DEV_AGENT}"] .agent-status')
        self.assertIn(status, ("online", "busy"), "the dev agent's .agent-status")

    # ---- targets ---------------------------------------------------------------

    def test_03_create_and_edit_a_target_and_see_form_errors(self):
        b = self.b
        b.ensure_signed_in()
        name = "web-%d" % (time.time() * 1000 % 10**9)
        b.visit("/targets", "targets")
        b.find("a#new-target").click()
        b.wait().until(lambda d: b.path() == "/targets/new")
        b.landed("target-form")
        self.assertGreaterEqual(len(b.find_all("#target-form .secret-ref")), 3, "fewer than 3 empty secret rows")
        b.find("input#target-name").send_keys(name)
        Select(b.find("select#target-integration")).select_by_value("bash")
        b.find("textarea#target-env").send_keys("GREETING=hello\nMODE=one")
        b.find("#target-submit").click()
        b.wait().until(lambda d: b.path() == "/targets" or d.find_elements(By.CSS_SELECTOR, "#flash-error"))
        b.landed("targets")
        self.assertEqual(b.path(), "/targets", f"#flash-error: {b.text('#flash-error')!r}")
        row = f'#targets tr[data-target="{name}"]'
        self.assertTrue(b.find_all(row), f"{name} is not in #targets")
        self.assertEqual(b.text(row + " .target-integration"), "bash")
        stored = s.api("GET", f"/targets/{name}")
        self.assertEqual(stored.get("env"), {"GREETING": "hello", "MODE": "one"})
        self.assertFalse(stored.get("tags"), "no tags were typed")

        # Edit: the form holds what is stored; change the env.
        b.find(row + " a.target-edit").click()
        b.wait().until(lambda d: b.path() == f"/targets/{name}/edit")
        b.landed("target-form-edit")
        name_field = b.find("input#target-name")
        self.assertEqual(name_field.get_attribute("value"), name)
        self.assertIsNotNone(name_field.get_attribute("readonly"), "#target-name is not readonly when editing")
        env = b.find("textarea#target-env")
        self.assertIn("MODE=one", env.get_attribute("value"))
        env.clear()
        env.send_keys("GREETING=hello\nMODE=two")
        b.find("#target-submit").click()
        b.wait().until(lambda d: b.path() == "/targets" or d.find_elements(By.CSS_SELECTOR, "#flash-error"))
        b.landed("targets")
        self.assertEqual(b.path(), "/targets", f"#flash-error: {b.text('#flash-error')!r}")
        self.assertEqual(s.api("GET", f"/targets/{name}").get("env"), {"GREETING": "hello", "MODE": "two"})
        b.visit(f"/targets/{name}/edit", "target-form-edit")
        self.assertIn("MODE=two", b.find("textarea#target-env").get_attribute("value"))
        self.assertNotIn("MODE=one", b.find("textarea#target-env").get_attribute("value"))

        # Invalid input: the form again with the API's message and the typed values kept.
        for bad_name, tags in ((name + "-tags", "bad tag!,ok=1"), ("bad name!", "")):
            with self.subTest(name=bad_name, tags=tags):
                b.visit("/targets/new", "target-form")
                b.find("input#target-name").send_keys(bad_name)
                b.find("input#target-tags").send_keys(tags)
                b.find("textarea#target-env").send_keys("KEPT=yes")
                b.find("#target-submit").click()
                b.present("#flash-error")
                b.landed("target-form-error")
                self.assertEqual(b.status_code(), 400)
                self.assertTrue(b.text("#flash-error"), "#flash-error is empty")
                self.assertEqual(b.find("input#target-name").get_attribute("value"), bad_name)
                self.assertEqual(b.find("input#target-tags").get_attribute("value"), tags)
                self.assertIn("KEPT=yes", b.find("textarea#target-env").get_attribute("value"))
                res = s.request("GET", "/api/v1/targets/" + urllib.parse.quote(bad_name),
                                headers={"Authorization": "Bearer " + s.TOKEN})
                self.assertIn(res.status, (400, 404), f"{bad_name!r} was created anyway")

    # ---- tasks -----------------------------------------------------------------

    def test_04_run_a_task_and_watch_its_log_live(self):
        b = self.b
        b.ensure_signed_in()
        script = ("for i in $(seq 1 20); do echo \"line $i\"; printf '\\033[31mred %d\\033[0m\\n' \"$i\"; "
                  "sleep 0.3; done")
        task_id = self.run_from_form(script)
        # A marker that a reload would lose.
        b.driver.execute_script("window.__browserTestMarker = 42;")
        self.assertEqual(b.text("#task-target"), s.DEV_TARGET)
        self.assertIn("line $i", b.text("pre#task-script"))
        seen = []

        def growing(d):
            status, text = d.execute_script(
                "const s = document.getElementById('task-status'), l = document.getElementById('log-output');"
                "return [s ? s.textContent.trim() : '', l ? l.textContent : ''];")
            if status == "running" and text.strip() and (not seen or seen[-1] != text):
                seen.append(text)
            return len(seen) >= 2

        try:
            b.wait(12, poll=0.1).until(growing)
        except Exception:
            self.fail(f"#log-output did not change while #task-status was running: saw {len(seen)} text(s); "
                      f"status now {b.text('#task-status')!r}, log-state {b.text('#log-state')!r}")
        self.assertEqual(b.text("#log-state"), "live")
        self.assertGreater(len(seen[1]), len(seen[0]), "the log shrank")
        # ANSI colours: a span with a colour of its own; no escape code shown raw.
        coloured = b.driver.execute_script(
            "const log = document.getElementById('log-output'); const base = getComputedStyle(log).color;"
            "return [...log.querySelectorAll('*')].filter(e => e.textContent.includes('red')"
            " && (e.className || e.getAttribute('style')) && getComputedStyle(e).color !== base).length;")
        self.assertGreater(coloured, 0, "no coloured element for \\033[31m inside #log-output")
        b.driver.save_screenshot(os.path.join(s.ARTIFACTS, "task-running.png"))

        self.wait_status("succeeded", 20)
        b.wait().until(lambda d: b.text("#log-state") == "complete")
        self.assertEqual(b.driver.execute_script("return window.__browserTestMarker"), 42, "the page was reloaded")
        text = b.text("#log-output")
        self.assertIn("line 20", text)
        self.assertIn("red 20", text)
        self.assertNotIn("\x1b", text)
        self.assertNotIn("[31m", text)
        self.assertNotIn("[0m", text)
        self.assertEqual(b.text("#task-exit-code"), "0")
        self.assertEqual(b.text("#task-agent"), s.DEV_AGENT)
        self.assertEqual(s.api("GET", f"/tasks/{task_id}")["status"], "succeeded")
        self.assertFalse(b.find_all("form#cancel"), "a finished task still offers cancel")
        self.assertFalse([e for e in b.find_all("#log-earlier") if e.is_displayed()],
                         "#log-earlier is shown though the page holds the whole log")
        b.landed("task-finished")
        type(self).finished_task = task_id

    def test_05_cancel_a_running_task(self):
        b = self.b
        b.ensure_signed_in()
        task_id = self.run_from_form("for i in $(seq 1 600); do echo \"tick $i\"; sleep 0.5; done")
        self.wait_status("running", 10)
        b.wait().until(lambda d: "tick" in b.text("#log-output"))
        b.find("form#cancel #cancel-submit").click()
        self.wait_status("cancelled", 15)
        b.landed("task-cancelled")
        self.assertEqual(s.wait_task(task_id, 10)["status"], "cancelled")
        self.assertFalse(b.find_all("form#cancel"), "a cancelled task still offers cancel")

    def test_06_rerun_a_finished_task(self):
        b = self.b
        b.ensure_signed_in()
        first = s.submit_task(s.DEV_TARGET, "echo rerun-me")
        self.assertEqual(s.wait_task(first)["status"], "succeeded")
        b.visit(f"/tasks/{first}", "task")
        b.find("form#rerun #rerun-submit").click()
        b.wait().until(lambda d: re.fullmatch(r"/tasks/[^/]+", b.path()) and b.path() != f"/tasks/{first}")
        b.landed("task-rerun")
        second = b.path().rsplit("/", 1)[1]
        self.assertNotEqual(second, first)
        self.assertEqual(b.text("#task-target"), s.DEV_TARGET)
        self.wait_status("succeeded", 15)
        b.wait().until(lambda d: "rerun-me" in b.text("#log-output"))
        record = s.api("GET", f"/tasks/{second}")
        self.assertEqual((record["target"], record["status"]), (s.DEV_TARGET, "succeeded"))

    def test_07_filter_and_page_the_task_list(self):
        b = self.b
        b.ensure_signed_in()
        # Another token's task, a failed task, and 60 tasks parked on a target no agent serves.
        suffix = "%d" % (time.time() * 1000 % 10**9)
        user, parked_target = "browser-other-" + suffix, "browser-parked-" + suffix
        other = s.api("POST", "/tokens", {"name": user, "role": "operator"})["token"]
        other_task = s.submit_task(s.DEV_TARGET, "echo by-other", token=other)
        failed_task = s.submit_task(s.DEV_TARGET, "exit 3")
        s.cli("target", "create", parked_target, "--integration", "bash", "--tags", "parked-" + suffix)
        parked = [s.submit_task(parked_target, "true") for _ in range(60)]
        self.assertEqual(s.wait_task(other_task)["status"], "succeeded")
        self.assertEqual(s.wait_task(failed_task)["status"], "failed")

        def apply(**fields):
            b.visit("/tasks", "tasks")
            form = b.present("form#task-filter")
            Select(form.find_element(By.ID, "filter-status")).select_by_value(fields.get("status", ""))
            for key in ("target", "agent", "user"):
                box = form.find_element(By.ID, "filter-" + key)
                box.clear()
                box.send_keys(fields.get(key, ""))
            b.find("#filter-submit").click()
            b.wait_gone(form)
            b.landed("tasks-filtered")

        # By status.
        apply(status="succeeded")
        ids = row_ids(b)
        self.assertTrue(ids, "no succeeded task listed")
        self.assertEqual({b.text(f'#tasks tr[data-task="{i}"] .task-status') for i in ids}, {"succeeded"})
        self.assertIn(other_task, ids)
        self.assertNotIn(failed_task, ids)
        # By target, and paging: 60 parked tasks are more than a page.
        apply(target=parked_target)
        page1 = row_ids(b)
        self.assertTrue(page1, f"no task listed for target {parked_target}")
        self.assertTrue(set(page1) <= set(parked), "tasks of other targets listed")
        self.assertLess(len(page1), 60, "all 60 tasks on one page: is the page size 50?")
        self.assertFalse(b.find_all("a#first-page"), "#first-page on the first page")
        b.find("a#next-page").click()
        b.wait().until(lambda d: set(row_ids(b)) and not set(row_ids(b)) & set(page1))
        b.landed("tasks-page-2")
        page2 = row_ids(b)
        self.assertEqual(sorted(page1 + page2), sorted(parked), "pages 1 and 2 do not hold the 60 tasks once each")
        self.assertTrue(b.find_all("a#first-page"), "no #first-page on page 2")
        self.assertFalse(b.find_all("a#next-page"), "#next-page on the last page")
        self.assertEqual({b.text(f'#tasks tr[data-task="{i}"] .task-target') for i in page2}, {parked_target})
        b.find("a#first-page").click()
        b.wait().until(lambda d: row_ids(b) == page1)
        # By user (the API token's name): only its task.
        apply(user=user)
        self.assertEqual(row_ids(b), [other_task])
        self.assertIn(user, b.text(f'#tasks tr[data-task="{other_task}"] .task-user'))
        # The filter is remembered on /tasks without parameters...
        b.visit("/tasks", "tasks-remembered")
        self.assertEqual(b.find("input#filter-user").get_attribute("value"), user)
        self.assertEqual(row_ids(b), [other_task])
        # ...and forgotten after #filter-reset.
        reset = b.find("a#filter-reset")
        reset.click()
        b.wait_gone(reset)
        b.landed("tasks-reset")
        self.assertEqual(b.find("input#filter-user").get_attribute("value"), "")
        self.assertTrue(set(row_ids(b)) & set(parked), "after reset the list is still filtered")
        b.visit("/tasks", "tasks")
        self.assertEqual(b.find("input#filter-user").get_attribute("value"), "")
        self.assertEqual(Select(b.find("select#filter-status")).first_selected_option.get_attribute("value"), "")
        self.assertTrue(set(row_ids(b)) & set(parked), "the filter came back after reset")
        self.assertTrue(b.find_all("a#next-page"), "more than a page of tasks and no #next-page")

    def test_08_a_64_mib_log_is_usable_within_a_second(self):
        b = self.b
        b.ensure_signed_in()
        size = 64 * 1024 * 1024
        task_id = s.submit_task(s.DEV_TARGET, f"head -c {size} /dev/zero | tr '\\0' 'x' | fold -w 120")
        task = s.wait_task(task_id, 120)
        self.assertEqual(task["status"], "succeeded", task.get("error"))
        # The agent caps a log at 64 MiB (its truncation line inside the cap): this one fills it.
        self.assertGreaterEqual(task["log_bytes"], size)

        def log_length(d=None):
            return b.driver.execute_script(
                "const l = document.getElementById('log-output'); return l ? l.textContent.length : -1;")

        def earlier_button(d):
            found = d.find_elements(By.ID, "log-earlier")
            return found[0] if found and found[0].is_displayed() and found[0].is_enabled() else None

        start = time.monotonic()
        try:
            b.driver.get(f"{s.HUB}/tasks/{task_id}")
            b.wait(5, poll=0.02).until(lambda d: b.text("#task-status"))
            b.wait(5, poll=0.02).until(lambda d: log_length() > 0)
            earlier = b.wait(5, poll=0.02).until(earlier_button)
            held = log_length()
            earlier.click()
        except Exception as error:
            self.fail(f"the 64 MiB log's page after {time.monotonic() - start:.2f} s: {type(error).__name__}; "
                      f"#task-status {b.text('#task-status')!r}, #log-output holds {log_length()} characters, "
                      f"#log-earlier {'shown' if b.find_all('#log-earlier') else 'absent'}")
        elapsed = time.monotonic() - start
        sys.stderr.write(f"(64 MiB log: usable {elapsed:.2f} s after the request, {held} characters held first) ")
        b.landed("task-64mib")
        self.assertEqual(b.text("#task-status"), "succeeded")
        self.assertLess(held, size // 2, "the page holds most of the 64 MiB log at first, not only its tail")
        self.assertLess(elapsed, 1.0, f"usable after {elapsed:.2f} s")
        b.wait(5).until(lambda d: log_length() > held)

        # The download link gives the whole log.
        href = b.find("a#log-download").get_attribute("href")
        self.assertEqual(urllib.parse.urlsplit(href).path, f"/tasks/{task_id}/log.txt")
        self.assertIn("download=1", urllib.parse.urlsplit(href).query)
        parts = urllib.parse.urlsplit(href)
        conn = http.client.HTTPConnection(s.HUB_HOST, s.HUB_PORT, timeout=60)
        try:
            conn.request("GET", parts.path + "?" + parts.query,
                         headers={"Cookie": f"{s.SESSION_COOKIE}={b.cookie_value()}"})
            res = conn.getresponse()
            self.assertEqual(res.status, 200)
            self.assertIn("attachment", res.headers.get("Content-Disposition", ""))
            total = 0
            while True:
                chunk = res.read(1 << 20)
                if not chunk:
                    break
                total += len(chunk)
        finally:
            conn.close()
        self.assertEqual(total, task["log_bytes"])
        length = res.headers.get("Content-Length")
        if length is not None:
            self.assertEqual(int(length), task["log_bytes"])

    # ---- cross-site requests ---------------------------------------------------

    def test_09_a_cross_site_form_post_is_refused(self):
        b = self.b
        b.ensure_signed_in()
        page = (
            "<!doctype html><title>elsewhere</title>"
            f'<form id="evil" method="post" action="{s.HUB}/run">'
            f'<input name="target" value="{s.DEV_TARGET}"><input name="script" value="echo pwned">'
            "</form><script>document.getElementById('evil').submit()</script>").encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            before = s.task_ids()
            b.driver.get(f"http://127.0.0.1:{server.server_address[1]}/")
            b.wait().until(lambda d: d.current_url.startswith(s.HUB + "/"))
            b.present("#flash-error")
            b.landed("run-cross-site-refused")
            self.assertEqual(b.status_code(), 403)
            self.assertTrue(b.text("#flash-error"), "#flash-error is empty")
            self.assertEqual(s.task_ids(), before, "the cross-site post created a task")
        finally:
            server.shutdown()
            server.server_close()

    def test_10_a_post_from_another_origin_is_refused_even_with_the_csrf_token(self):
        b = self.b
        b.ensure_signed_in()
        cookie = f"{s.SESSION_COOKIE}={b.cookie_value()}"
        form = s.request("GET", "/run", headers={"Cookie": cookie})
        self.assertEqual(form.status, 200)
        csrf = s.hidden_field(form.text(), "_csrf")
        self.assertTrue(csrf, "no <input name=_csrf> on /run")
        body = urllib.parse.urlencode({"_csrf": csrf, "target": s.DEV_TARGET, "script": "echo origin"}).encode()

        def post(extra, fields=body):
            headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
            headers.update(extra)
            return s.request("POST", "/run", fields, headers)

        before = s.task_ids()
        for extra in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                      {"Sec-Fetch-Site": "cross-site"}, {"Origin": f"http://127.0.0.1:{s.HUB_PORT + 1}"}):
            with self.subTest(headers=extra):
                res = post(extra)
                self.assertEqual(res.status, 403, f"POST /run with {extra}")
                self.assertIn('id="flash-error"', res.text().replace("'", '"'))
        # Without _csrf, from the hub's own origin: refused too.
        res = post({"Origin": s.HUB},
                   urllib.parse.urlencode({"target": s.DEV_TARGET, "script": "echo no-csrf"}).encode())
        self.assertEqual(res.status, 403, "POST /run without _csrf")
        self.assertEqual(s.task_ids(), before, "a refused post created a task")
        # The same post from the hub's own origin is taken: the refusals above were the origin's.
        res = post({"Origin": s.HUB, "Sec-Fetch-Site": "same-origin"})
        self.assertEqual(res.status, 303, res.text()[:300])
        self.assertRegex(urllib.parse.urlsplit(res.headers.get("Location", "")).path, r"^/tasks/[^/]+$")
        s.wait_task(res.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    # ---- signing out, and the last test: draining ---------------------------------

    def test_11_sign_out_ends_the_session(self):
        b = self.b
        b.ensure_signed_in()
        b.visit("/tasks", "tasks")
        old = b.cookie_value()
        b.find("form#sign-out #sign-out-submit").click()
        b.wait().until(lambda d: b.path() == "/sign-in")
        b.landed("signed-out")
        self.assertIsNone(b.cookie_value(), "the session cookie was not cleared")
        res = s.request("GET", "/tasks", headers={"Cookie": f"{s.SESSION_COOKIE}={old}"})
        self.assertEqual(res.status, 303, "the old session cookie still opens /tasks")
        self.assertEqual(urllib.parse.urlsplit(res.headers.get("Location", "")).path, "/sign-in")
        b.visit("/tasks", "signed-out-redirect")
        self.assertEqual(b.path(), "/sign-in")

    def test_12_drain_the_dev_agent(self):
        # A drained agent finishes its tasks, then deregisters and exits: one running
        # task keeps it there, draining, while the pages are read.
        b = self.b
        b.ensure_signed_in()
        busy = s.submit_task(s.DEV_TARGET, "for i in $(seq 1 60); do sleep 0.25; done")
        try:
            s.wait_running(busy)
            b.visit(f"/agents/{s.DEV_AGENT}", "agent")
            self.assertIn(b.text("#agent-status"), ("online", "busy"))
            self.assertTrue(b.find_all("form#drain #drain-submit"), "no form#drain on the agent's page")
            b.visit("/agents", "agents")
            row = f'#agents tr[data-agent="{s.DEV_AGENT}"]'
            self.assertIn(b.text(row + " .agent-status"), ("online", "busy"))
            b.find(row + " form.drain .drain-submit").click()
            try:
                b.wait().until(lambda d: b.path() == "/agents" and b.text(row + " .agent-status") == "draining")
            except Exception:
                self.fail(f"after drain: {b.driver.current_url}, .agent-status {b.text(row + ' .agent-status')!r}, "
                          f"#flash-error {b.text('#flash-error')!r}")
            b.landed("agents-drained")
            self.assertFalse(b.find_all(row + " form.drain"), "a draining agent still offers drain")
            agents = {a["name"]: a["status"] for a in s.api("GET", "/agents")["items"]}
            self.assertEqual(agents.get(s.DEV_AGENT), "draining")
            b.visit(f"/agents/{s.DEV_AGENT}", "agent-drained")
            self.assertEqual(b.text("#agent-status"), "draining")
            self.assertFalse(b.find_all("form#drain"), "a draining agent still offers drain")
        finally:
            s.api("POST", f"/tasks/{busy}/cancel", expect=None)

    # ---- over the whole run --------------------------------------------------------

    def test_98_no_page_leaked_the_token_or_the_cookie(self):
        self.assertEqual(self.b.leaks, [])
        self.assertTrue(self.b.urls, "no page was visited")

    def test_99_no_csp_violation_or_script_error_and_every_page_was_shot(self):
        self.assertEqual(self.b.problems, [])
        missing = {"sign-in", "tasks", "task", "run", "agents", "agent", "agent-types", "targets",
                   "target-form"} - set(self.b.shots)
        self.assertEqual(missing, set(), "pages without a screenshot")


if __name__ == "__main__":
    unittest.main(verbosity=2)
