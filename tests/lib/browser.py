"""A real browser for the console tests: Debian's headless Chromium, driven through its WebDriver
(/usr/bin/chromedriver, package chromium-driver) by Debian's python3-selenium 4.8.

    with Browser() as b:                      # Browser(javascript=False): scripts off
        b.open(url + "/ui/login")
        b.fill("login", {"user": "ana", "password": "s3cret"})
        b.submit("login")
        b.wait_for(lambda: b.text("#results"), what="the results table")
        b.screenshot(os.path.join(build_dir, "console-search.png"))

Each Browser starts its own Chromium with a fresh profile in a temp dir (no cookie, cache or
storage of another test), a fixed viewport of WINDOW pixels at scale 1 without scroll bars (a page's
screenshot has the same size on every run) and, with javascript=False, JavaScript disabled in the
profile (the console must read without it). quit() (the `with` block's end) stops the driver and
the browser and removes the profile, whatever failed. When Chromium, its driver or selenium are
not installed, Browser() prints why and raises unittest.SkipTest (scripts/setup.sh installs
them); any other failure to start is an error, not a skip.
"""
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from tlpm import wait_for as _wait_for  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW = (1280, 900)
DEADLINE_S = float(os.environ.get("TLPMESH_BROWSER_DEADLINE", "30"))


def missing():
    """Why no browser can run here ("" when one can)."""
    for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} not found (package {pkg})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "python module selenium not found (package python3-selenium)"
    return ""


def _options(profile, javascript):
    from selenium import webdriver
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for arg in ("--headless=new", f"--user-data-dir={profile}",
                f"--window-size={WINDOW[0]},{WINDOW[1]}", "--force-device-scale-factor=1",
                "--hide-scrollbars", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-extensions", "--disable-background-networking"):
        o.add_argument(arg)
    if os.geteuid() == 0:
        o.add_argument("--no-sandbox")  # Chromium refuses root with its sandbox on
    if not javascript:
        o.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return o


class Browser:
    def __init__(self, javascript=True):
        why = missing()
        if why:
            print(f"browser: skipped: {why}; scripts/setup.sh installs it", file=sys.stderr)
            raise unittest.SkipTest(why)
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.profile = tempfile.mkdtemp(prefix="tlpmesh-chromium.")
        try:
            service = Service(CHROMEDRIVER, log_path=os.path.join(self.profile, "chromedriver.log"))
            self.driver = webdriver.Chrome(service=service,
                                           options=_options(self.profile, javascript))
            self.driver.set_page_load_timeout(DEADLINE_S)
            # The viewport, not the window (whose frame differs between Chromium versions).
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False})
        except BaseException:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # --- pages ---
    def open(self, url):
        self.driver.get(url)

    @property
    def url(self):
        return self.driver.current_url

    def html(self):
        return self.driver.page_source

    def _find(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css):
        """The visible text of the first element matching css (NoSuchElementException if none)."""
        return self._find(css).text

    def attr(self, css, name):
        return self._find(css).get_attribute(name)

    # --- forms ---
    def fill(self, form_id, fields):
        """Sets the fields (name -> value) of <form id=form_id>: a <select> by option value, a
        checkbox checked when value is true, any other input typed anew."""
        from selenium.webdriver.support.ui import Select
        form = self._find(f"form#{form_id}")
        for name, value in fields.items():
            el = form.find_element("name", name)
            if el.tag_name == "select":
                Select(el).select_by_value(str(value))
            elif el.get_attribute("type") == "checkbox":
                if el.is_selected() != bool(value):
                    el.click()
            else:
                el.clear()
                el.send_keys(str(value))

    def submit(self, form_id):
        """Clicks the form's submit button (as a user does, and without JavaScript, unlike
        WebElement.submit()) and waits until the next page has loaded."""
        old = self._find("html")
        self._find(f"form#{form_id}").find_element(
            "css selector", "button[type=submit], input[type=submit], button:not([type])").click()
        self.wait_for(lambda: self._stale(old), what=f"the page after submitting form#{form_id}")

    @staticmethod
    def _stale(el):
        from selenium.common.exceptions import StaleElementReferenceException
        try:
            el.tag_name
            return False
        except StaleElementReferenceException:
            return True

    # --- waiting, evidence ---
    def wait_for(self, pred, timeout=DEADLINE_S, what="condition"):
        """Polls pred() (an element not there yet counts as false) until it is truthy."""
        from selenium.common.exceptions import WebDriverException

        def poll():
            try:
                return pred()
            except WebDriverException:
                return False
        return _wait_for(poll, timeout=timeout, interval=0.1, what=what)

    def screenshot(self, path):
        """Writes the viewport as PNG to path (WINDOW pixels) and returns path."""
        if not self.driver.save_screenshot(path):
            raise AssertionError(f"browser: cannot write screenshot {path}")
        return path

    def cookies(self):
        """The cookies the browser holds for the current page: name -> selenium's cookie dict
        (value, httpOnly, secure, sameSite, path, ...)."""
        return {c["name"]: c for c in self.driver.get_cookies()}
