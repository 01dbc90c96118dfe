"""What a person sees on a page, checked in the browser: width, text and tap-target sizes, leaked internals.

:func:`audit_page` runs one script in the page (Playwright's ``page.evaluate``) and returns the problems it
found as short strings, empty when the page passes. :func:`axe_violations` runs axe-core in the page.
The limits are those of issue 14: nothing wider than the screen, text >= 14 px, chart text >= 11 px, tap
targets >= 44 x 44 px, and none of :data:`FORBIDDEN` in the visible text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

MIN_TEXT_PX = 14.0
MIN_CHART_TEXT_PX = 11.0
MIN_TAP_PX = 44.0

#: Internal details a person must never see: (pattern, what it is). Checked on ``document.body.innerText``.
FORBIDDEN: tuple[tuple[str, str], ...] = (
    (
        r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b",
        "a snake_case field or code name (pain_0_10, count_source, too_early)",
    ),
    (r"\b[a-z]+\.[a-z]+(?:_[a-z]+)+\b", "a rule id (needle.clinic_only)"),
    (r"\bUNVERIFIED\b|\bVERIFIED\b", "a data-quality marker"),
    (r"\byi\b|\bvi\b", "meta-analysis symbols yi/vi"),
    (r"(?<![\w-])--[a-z][a-z-]+", "a command-line flag"),
    (
        r"`?regrow (?:device|log|plan|serve|measure|photo|progress|evidence|export|import|demo|today)\b",
        "a command",
    ),
    (r"/tmp/|\\Temp\\|regrow-demo-|\.sqlite\b|\.ya?ml\b|\.py\b", "a file path or file name"),
    (r"\bNone\b|\bnan\b|\bNaN\b|\bTrue\b|\bFalse\b|\bnull\b", "a raw programming value"),
    (r"\bTraceback\b|\bException\b|\bsha256\b", "a programming detail"),
    (r"\b(?:REML|DerSimonian|Knapp|HKSJ|I²)\b(?![^(]*\))", "an unexplained statistical term"),
    (r"\b(?:CI|SD|I2|yi|vi|tau\^?2)\b", "statistical shorthand"),
)

_AUDIT_JS = r"""
([minText, minChart, minTap]) => {
  const vw = document.documentElement.clientWidth;
  const problems = [];
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    else if (el.classList.length) s += "." + Array.from(el.classList).join(".");
    const text = (el.innerText || el.getAttribute("aria-label") || el.value || "").trim().slice(0, 30);
    return text ? s + ' "' + text + '"' : s;
  };
  const visible = (el) => {
    const st = getComputedStyle(el);
    if (st.visibility === "hidden" || st.display === "none") return false;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return false;
    if (el.closest(".sr-only, .skip, [hidden]")) return false;
    const closed = el.closest("details:not([open])");  // folded away: checked when opened
    if (closed && !el.closest("summary")) return false;
    const head = el.closest("thead");  // a table shown as cards keeps its header for screen readers only
    if (head && getComputedStyle(head).position === "absolute") return false;
    return true;
  };
  if (document.documentElement.scrollWidth > vw) {
    problems.push("page is " + document.documentElement.scrollWidth + " px wide on a " + vw + " px screen");
  }
  // every element inside the screen (a wide table must become cards, not a sideways scroll)
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!visible(el) || el.closest("svg") && el.tagName.toLowerCase() !== "svg") continue;
    const r = el.getBoundingClientRect();
    if (r.right > vw + 1 || r.left < -1) wide.push(name(el) + " spans " + Math.round(r.left) + ".." + Math.round(r.right));
  }
  const some = (list) => list.slice(0, 4).join("; ") + (list.length > 4 ? " (+" + (list.length - 4) + ")" : "");
  if (wide.length) problems.push("wider than the screen: " + some(wide));
  // text size: HTML text >= minText px, chart text (SVG, scaled by its viewBox) >= minChart px
  const small = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (!el || !visible(el) || el.closest("title, desc, script, style, option")) continue;
    const svg = el.closest("svg");
    let px = parseFloat(getComputedStyle(el).fontSize);
    let limit = minText;
    if (svg) {
      const vb = svg.viewBox && svg.viewBox.baseVal;
      const scale = vb && vb.width ? svg.getBoundingClientRect().width / vb.width : 1;
      px = px * Math.min(scale, vb && vb.height ? svg.getBoundingClientRect().height / vb.height : scale);
      limit = minChart;
    }
    if (px + 0.05 < limit) small.add(name(el) + " " + px.toFixed(1) + " px");
  }
  if (small.size) problems.push("text too small: " + some(Array.from(small)));
  // tap targets: a link inside a sentence is exempt (WCAG 2.5.8 "inline"); a tick box counts with its label
  const tiny = [];
  for (const el of document.body.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary")) {
    if (!visible(el)) continue;
    let box = el;
    const type = (el.getAttribute("type") || "").toLowerCase();
    if ((type === "checkbox" || type === "radio") && el.closest("label")) box = el.closest("label");
    if (el.tagName === "A") {
      const parent = el.parentElement;
      const own = el.innerText.trim().length;
      const around = parent ? parent.innerText.trim().length : own;
      if (around > own + 2 && getComputedStyle(el).display === "inline") continue;
    }
    const r = box.getBoundingClientRect();
    if (r.width + 0.5 < minTap || r.height + 0.5 < minTap) tiny.push(name(el) + " " + Math.round(r.width) + "x" + Math.round(r.height));
  }
  if (tiny.length) problems.push("tap targets under " + minTap + " px: " + some(tiny));
  return problems;
}
"""


def audit_page(page: Any) -> list[str]:
    """Layout problems of the page as it is rendered now (overflow, small text, small tap targets)."""
    problems = page.evaluate(_AUDIT_JS, [MIN_TEXT_PX, MIN_CHART_TEXT_PX, MIN_TAP_PX])
    return list(problems) + leaked_internals(page.evaluate("document.body.innerText"))


def leaked_internals(text: str) -> list[str]:
    """Each :data:`FORBIDDEN` pattern found in ``text``, with the match in its context."""
    found = []
    for pattern, what in FORBIDDEN:
        match = re.search(pattern, text)
        if match:
            start, end = max(0, match.start() - 30), min(len(text), match.end() + 30)
            context = text[start:end].replace("\n", " ")
            found.append(f"{what}: {match.group(0)!r} in '...{context}...'")
    return found


def axe_violations(page: Any, axe_js: str | Path) -> list[str]:
    """Serious and critical WCAG 2.x A/AA violations axe-core finds in the page (``id: node, ...``).

    The page's context must be created with ``bypass_csp=True``: the app's Content-Security-Policy
    (rightly) refuses the injected script otherwise.
    """
    page.add_script_tag(content=Path(axe_js).read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
        const r = await axe.run(document, {runOnly: {type: "tag",
          values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}, resultTypes: ["violations"]});
        return JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact,
          nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))})));
      }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {', '.join(v['nodes'])}"
        for v in json.loads(result)
        if v["impact"] in ("serious", "critical")
    ]
