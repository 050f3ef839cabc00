"""axe-core in every page the browser tests open: each state a page reaches is checked, and any violation fails the test.

The vendored axe-core (``vendor/axe-core``, from its npm package) is injected into every document of a watched
context before the page's own scripts run. A watcher in the page runs ``axe.run`` whenever the document settles after
a change (a page load, an htmx swap, a pushed region), at most every 300 ms; ticking clocks (the offer countdown, the
talk and hold timers) do not count as changes. Every violation is reported back to the test over a Playwright binding,
with the page's path and the elements at fault. ``Axe.now(page)`` checks the current state at once (screenshots and the
end of each test call it), so nothing a test saw goes unchecked.

Django admin (``/admin/``) is not ours and is not checked. A context watched with ``continuous=False`` is checked only
when asked (screenshots, the end of the test): the real-SIP journeys, whose pages are the workspace's, checked in full
by the browser journeys. The markup does not depend on the database, so ``.ci/run``'s second pass (PostgreSQL, with
``RINGBACK_SKIP_LINT`` set like the other code checks) does not run axe again.
"""

import json
import os
from pathlib import Path

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()

WATCH = r"""
(() => {
  if (window !== window.top || !/^https?:$/.test(location.protocol) || location.pathname.startsWith("/admin/")) return;
  const TICKING = ".countdown, .timers, #conn";
  let timer = null, running = null;
  function report(result) {
    if (!result.violations.length) return;
    return window.__ringbackAxe(JSON.stringify({
      path: location.pathname + location.search,
      violations: result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 6).map(n => ({ target: n.target.join(" "), html: n.html.slice(0, 240), why: n.failureSummary })),
      })),
    }));
  }
  async function run() {
    timer = null;
    while (running) await running;
    running = axe.run(document, { resultTypes: ["violations"] }).then(report, e => window.__ringbackAxe(JSON.stringify({ path: location.pathname, error: String(e) })));
    try { await running; } finally { running = null; }
  }
  function later() { if (!timer) timer = setTimeout(run, 300); }
  window.__ringbackAxeNow = async () => { clearTimeout(timer); timer = null; await run(); };
  function start() {
    if (window.__ringbackAxeOnDemand) return;
    new MutationObserver(records => {
      if (records.some(r => { const el = r.target.nodeType === 1 ? r.target : r.target.parentElement; return !(el && el.closest(TICKING)); })) later();
    }).observe(document.documentElement, { subtree: true, childList: true, attributes: true, characterData: true });
    later();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
"""


class Axe:
    def __init__(self):
        self.found: list[str] = []
        self.contexts = []

    def watch(self, context, who: str, *, continuous: bool = True) -> None:
        if os.environ.get("RINGBACK_SKIP_LINT"):
            return
        if not continuous:
            context.add_init_script(script="window.__ringbackAxeOnDemand = true;")
        context.add_init_script(script=AXE)
        context.add_init_script(script=WATCH)
        context.expose_binding("__ringbackAxe", lambda source, payload: self.report(who, payload))
        self.contexts.append(context)

    def report(self, who: str, payload: str) -> None:
        data = json.loads(payload)
        if "error" in data:
            self.found.append(f"{who} {data['path']}: axe failed: {data['error']}")
            return
        for v in data["violations"]:
            nodes = "\n".join(f"      {n['target']}: {n['html']}\n        {n['why']}" for n in v["nodes"])
            line = f"{who} {data['path']}: [{v['impact']}] {v['id']}: {v['help']}\n{nodes}"
            if line not in self.found:
                self.found.append(line)

    @staticmethod
    def now(page) -> None:
        """Check the page as it is now (the result reaches ``found`` before this returns)."""
        if page.is_closed():
            return
        try:
            page.evaluate("window.__ringbackAxeNow ? window.__ringbackAxeNow() : null")
        except Exception as err:  # the page navigated or closed meanwhile: its next state is checked by the watcher
            if "Execution context was destroyed" not in str(err) and "closed" not in str(err):
                raise

    def finish(self) -> list[str]:
        for context in self.contexts:
            for page in context.pages:
                self.now(page)
        return self.found
