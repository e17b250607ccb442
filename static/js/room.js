// Behaviour of the session rooms and the lobby. No rules live here: limits, quotes and scores
// are computed on the server (draft preview, score preview); this file only wires the page.
(function () {
  "use strict";

  function flag(el, name) { return el && el.dataset[name] === "true"; }

  // Enable each move button only when the pushed turn status allows it; hide forms at the end.
  function applyTurnStatus() {
    const status = document.getElementById("turn-status");
    if (!status) return;
    const turn = flag(status, "yourTurn");
    const needs = {
      "your-turn": turn,
      "may-speak": turn && flag(status, "speaking"),
      "may-vote": turn && flag(status, "voting"),
      "may-choose": turn && flag(status, "choosing"),
      "may-continue": turn && flag(status, "mayContinue"),
      "may-end": turn && flag(status, "mayEnd"),
    };
    document.querySelectorAll("[data-needs]").forEach(function (button) {
      button.disabled = !needs[button.dataset.needs];
    });
    applySwingRule();
    if (flag(status, "finished")) {
      document.querySelectorAll(".move-form").forEach(function (form) { form.hidden = true; });
    }
    const base = document.title.replace(/^\(Your turn\) /, "");
    document.title = (turn ? "(Your turn) " : "") + base;
  }

  // The rules may refuse to end with a judgment that moves too far from the judge's last one
  // (the turn status carries the limit and the last probabilities): "End" is disabled while the
  // typed probabilities would be refused, and the status says why. The server still decides.
  function applySwingRule() {
    const rule = document.getElementById("end-rule");
    const form = document.getElementById("judge-form");
    const status = document.getElementById("turn-status");
    if (!rule || !form || !rule.dataset.swingLimit || !rule.dataset.swingFrom) return;
    const limit = Number(rule.dataset.swingLimit);
    const before = rule.dataset.swingFrom.split(",").map(Number);
    const swings = before.some(function (was, i) {
      const input = form.querySelector('input[type=number][data-prob="' + i + '"]');
      return input && Math.abs(Number(input.value) - was) > limit;
    });
    const hint = document.getElementById("swing-hint");
    if (hint) hint.hidden = !swings;
    const end = form.querySelector('[data-needs="may-end"]');
    const turn = flag(status, "yourTurn") && flag(status, "mayEnd");
    if (end) end.disabled = !turn || swings;
  }

  function applyLobby() {
    const lobby = document.getElementById("lobby");
    if (!lobby) return;
    // Turns due plus other open notifications (surveys); older fragments carry turns only.
    const count = parseInt(lobby.dataset.openCount || lobby.dataset.turnCount || "0", 10);
    const base = document.title.replace(/^\(\d+\) /, "");
    document.title = (count > 0 ? "(" + count + ") " : "") + base;
  }

  function updateCounters() {
    document.querySelectorAll("[data-counter-for]").forEach(function (counter) {
      const field = document.getElementById(counter.dataset.counterFor);
      if (!field) return;
      const limit = parseInt(counter.dataset.limit, 10);
      counter.textContent = field.value.length + " / " + limit + " characters";
      counter.classList.toggle("over", field.value.length > limit);
    });
  }

  // ------------------------------------------------------------------------------------------
  // The judge's probabilities: typed values clamped to 1-99%, the inputs always summing to 100%
  // ------------------------------------------------------------------------------------------

  function clampPercent(value) { return Math.max(1, Math.min(99, Math.round(Number(value) || 0))); }

  function linkProbabilities(event) {
    const input = event.target;
    if (!input.matches || !input.matches("[data-prob]")) return;
    const form = input.closest("form");
    const index = input.dataset.prob;
    const others = Array.from(new Set(Array.from(form.querySelectorAll("[data-prob]"))
      .map(function (el) { return el.dataset.prob; }))).filter(function (i) { return i !== index; });
    const value = Math.min(clampPercent(input.value), 100 - others.length);
    const rest = 100 - value;
    const current = others.map(function (i) { return Number(form.querySelector('input[type=number][data-prob="' + i + '"]').value) || 1; });
    const total = current.reduce(function (a, b) { return a + b; }, 0) || 1;
    const shares = current.map(function (v, k) {
      return k === current.length - 1 ? null : Math.max(1, Math.round(rest * v / total));
    });
    const assigned = shares.slice(0, -1).reduce(function (a, b) { return a + b; }, 0);
    shares[shares.length - 1] = rest - assigned;
    form.querySelectorAll('[data-prob="' + index + '"]').forEach(function (el) {
      // A number being typed keeps what was typed until it is left, unless out of range.
      if (el !== input || input.type === "range" || event.type === "change" ||
          Number(input.value) !== value) el.value = value;
    });
    others.forEach(function (i, k) {
      form.querySelectorAll('[data-prob="' + i + '"]').forEach(function (el) { el.value = shares[k]; });
    });
    form.dispatchEvent(new Event("prob-change"));
  }

  // Ending is final: the judge confirms, seeing the probabilities it ends with.
  document.addEventListener("submit", function (event) {
    const button = event.submitter;
    if (!button || !button.dataset.confirm) return;
    const form = event.target;
    const shown = Array.from(form.querySelectorAll("input[type=number][data-prob]")).map(function (el) {
      return String.fromCharCode(65 + Number(el.dataset.prob)) + " " + el.value + "%";
    }).join(", ");
    if (!window.confirm("End the session with " + shown + "? " + button.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // ------------------------------------------------------------------------------------------
  // The story: selections snap to whole words; revealed spans and the draft's quotes marked
  // ------------------------------------------------------------------------------------------

  let lastSelection = null;
  const WORD = /[\p{L}\p{N}'’-]/u;

  function paragraphs() { return Array.from(document.querySelectorAll("#passage p[data-start]")); }

  function offsetIn(node, offset) {
    const element = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    const p = element && element.closest("#passage p[data-start]");
    if (!p) return null;
    if (node.nodeType !== Node.TEXT_NODE) return Number(p.dataset.start) + (offset ? p.textContent.length : 0);
    return Number(p.dataset.start) + offset;
  }

  function paragraphAt(offset) {
    return paragraphs().find(function (p) {
      const start = Number(p.dataset.start);
      return offset >= start && offset <= start + p.textContent.length;
    });
  }

  // Widen [start, end) to whole words of the paragraphs they fall in.
  function snap(start, end) {
    const first = paragraphAt(start), last = paragraphAt(end);
    if (!first || !last) return null;
    const a = first.textContent, aStart = Number(first.dataset.start);
    const b = last.textContent, bStart = Number(last.dataset.start);
    let s = start - aStart, e = end - bStart;
    while (s < a.length && /\s/.test(a[s])) s++;
    while (e > 0 && /\s/.test(b[e - 1])) e--;
    while (s > 0 && WORD.test(a[s - 1]) && WORD.test(a[s])) s--;
    while (e < b.length && WORD.test(b[e]) && e > 0 && WORD.test(b[e - 1])) e++;
    start = aStart + s; end = bStart + e;
    return end > start ? { start: start, end: end } : null;
  }

  function passageText(start, end) {
    return paragraphs().map(function (p) {
      const pStart = Number(p.dataset.start), text = p.textContent;
      const lo = Math.max(start, pStart), hi = Math.min(end, pStart + text.length);
      return hi > lo ? { at: pStart, text: text.slice(lo - pStart, hi - pStart) } : null;
    }).filter(Boolean).map(function (part) { return part.text; }).join("\n\n");
  }

  function readSelection() {
    const passage = document.getElementById("passage");
    const button = document.getElementById("quote-selection");
    if (!passage || !button) return;
    const selection = window.getSelection();
    let chosen = null;
    if (selection && !selection.isCollapsed && selection.rangeCount) {
      const range = selection.getRangeAt(0);
      if (passage.contains(range.startContainer) && passage.contains(range.endContainer)) {
        const start = offsetIn(range.startContainer, range.startOffset);
        const end = offsetIn(range.endContainer, range.endOffset);
        if (start !== null && end !== null && end > start) chosen = snap(start, end);
      }
    }
    if (!chosen) {
      // Only a selection inside the story is quoted; the editor keeps its own selections.
      if (selection && selection.anchorNode && editor() && editor().contains(selection.anchorNode)) return;
      lastSelection = null;
      button.disabled = true;
      return;
    }
    lastSelection = { start: chosen.start, end: chosen.end, text: passageText(chosen.start, chosen.end) };
    button.disabled = false;
    const hint = document.getElementById("quote-hint");
    if (hint) {
      hint.textContent = alreadyRevealed(chosen.start, chosen.end)
        ? "Already revealed to the judge: quoting it again adds nothing new (it still counts toward this speech's quote limit)."
        : "Press “Quote selection” to put “" + lastSelection.text.slice(0, 60) + (lastSelection.text.length > 60 ? "…" : "") + "” into your speech.";
    }
  }

  function storyMarks() {
    const panel = document.getElementById("quotes-panel");
    try { return JSON.parse((panel && panel.dataset.marks) || "[]"); } catch (e) { return []; }
  }

  function alreadyRevealed(start, end) {
    const marks = storyMarks();
    let covered = 0;
    for (let i = start; i < end; i++) {
      if (marks.some(function (m) { return m[0] <= i && i < m[1]; })) covered++;
    }
    return covered === end - start;
  }

  function rangeOf(start, end) {
    const ps = paragraphs();
    let startNode = null, endNode = null, so = 0, eo = 0;
    ps.forEach(function (p) {
      const pStart = Number(p.dataset.start), node = p.firstChild, length = p.textContent.length;
      if (!node) return;
      if (!startNode && start < pStart + length) { startNode = node; so = Math.max(0, start - pStart); }
      if (end > pStart && end <= pStart + length) { endNode = node; eo = end - pStart; }
    });
    if (!startNode || !endNode) return null;
    const range = new Range();
    range.setStart(startNode, Math.min(so, startNode.length));
    range.setEnd(endNode, Math.min(eo, endNode.length));
    return range;
  }

  // Marks painted with the CSS Custom Highlight API: the story's DOM is never rewritten.
  function paintStory() {
    if (!window.CSS || !CSS.highlights || !document.getElementById("passage")) return;
    const groups = { own: [], other: [], both: [], draft: [] };
    storyMarks().forEach(function (m) { const r = rangeOf(m[0], m[1]); if (r) groups[m[2]].push(r); });
    chips().forEach(function (chip) {
      if (chip.dataset.start) {
        const r = rangeOf(Number(chip.dataset.start), Number(chip.dataset.end));
        if (r) groups.draft.push(r);
      }
    });
    Object.keys(groups).forEach(function (name) {
      CSS.highlights.set("story-" + name, new Highlight(...groups[name]));
    });
  }

  // ------------------------------------------------------------------------------------------
  // The draft editor: text, and quotes as blocks that cannot be typed into
  // ------------------------------------------------------------------------------------------

  function editor() { return document.getElementById("draft-editor"); }
  function markupField() { return document.getElementById("draft"); }
  function chips() { const e = editor(); return e ? Array.from(e.querySelectorAll(".quote-chip")) : []; }

  const QUOTE_TAG = /<quote(?:\s+start="(\d+)"\s+end="(\d+)")?\s*>([\s\S]*?)<\/quote>/gi;

  function makeChip(text, start, end) {
    const chip = document.createElement("span");
    chip.className = "quote-chip" + (start === undefined || start === null || start === "" ? " unverified" : "");
    chip.contentEditable = "false";
    if (start !== undefined && start !== null && start !== "") { chip.dataset.start = start; chip.dataset.end = end; }
    chip.dataset.text = text;
    const body = document.createElement("span");
    body.className = "quote-text";
    body.textContent = text;
    chip.appendChild(body);
    [["◀", "Move this quote left", "left"], ["▶", "Move this quote right", "right"], ["✕", "Remove this quote", "remove"]]
      .forEach(function (spec) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "chip-control";
        button.textContent = spec[0];
        button.setAttribute("aria-label", spec[1]);
        button.dataset.chipAction = spec[2];
        chip.appendChild(button);
      });
    return chip;
  }

  function loadEditor() {
    const e = editor(), field = markupField();
    if (!e || !field || e.dataset.loaded) return;
    e.dataset.loaded = "true";
    const markup = field.value;
    let position = 0, match;
    QUOTE_TAG.lastIndex = 0;
    while ((match = QUOTE_TAG.exec(markup)) !== null) {
      if (match.index > position) e.appendChild(document.createTextNode(markup.slice(position, match.index)));
      e.appendChild(makeChip(match[3], match[1], match[2]));
      position = match.index + match[0].length;
    }
    if (position < markup.length) e.appendChild(document.createTextNode(markup.slice(position)));
  }

  function serialize() {
    const e = editor();
    let out = "";
    e.childNodes.forEach(function (node) {
      if (node.nodeType === Node.TEXT_NODE) out += node.textContent.replace(/\u00a0/g, " ");
      else if (node.classList && node.classList.contains("quote-chip")) {
        const text = node.dataset.text;
        out += node.dataset.start
          ? '<quote start="' + node.dataset.start + '" end="' + node.dataset.end + '">' + text + "</quote>"
          : "<quote>" + text + "</quote>";
      } else if (node.nodeName === "BR") out += "\n";
      else out += node.textContent;
    });
    return out;
  }

  function editorChanged() {
    const field = markupField();
    if (!field) return;
    const markup = serialize();
    if (field.value !== markup) {
      field.value = markup;
      field.dispatchEvent(new Event("input", { bubbles: true }));
    }
    paintStory();
  }

  let savedRange = null;
  function rememberCaret() {
    const e = editor(), selection = window.getSelection();
    if (e && selection && selection.rangeCount && e.contains(selection.anchorNode)) {
      savedRange = selection.getRangeAt(0).cloneRange();
    }
  }

  function insertQuote() {
    const e = editor();
    if (!e || !lastSelection) return;
    const chip = makeChip(lastSelection.text, lastSelection.start, lastSelection.end);
    let range = savedRange && e.contains(savedRange.startContainer) ? savedRange : null;
    if (range && range.startContainer.nodeType !== Node.TEXT_NODE && range.startContainer !== e) range = null;
    if (!range) { range = document.createRange(); range.selectNodeContents(e); range.collapse(false); }
    range.deleteContents();
    const space = document.createTextNode(" ");
    range.insertNode(space);
    range.insertNode(chip);
    const after = document.createRange();
    after.setStartAfter(space); after.collapse(true);
    const selection = window.getSelection();
    selection.removeAllRanges(); selection.addRange(after);
    savedRange = after.cloneRange();
    e.focus();
    editorChanged();
    markupField().dispatchEvent(new Event("quote-inserted"));
  }

  // Move a quote one word left or right, or past a neighbouring quote.
  function moveChip(chip, direction) {
    const e = chip.parentNode;
    e.normalize();  // one text node between quotes, so a "word" is a whole word
    const neighbour = direction === "left" ? chip.previousSibling : chip.nextSibling;
    if (!neighbour) return;
    if (neighbour.nodeType !== Node.TEXT_NODE) {
      if (direction === "left") e.insertBefore(chip, neighbour); else e.insertBefore(neighbour, chip);
    } else {
      const text = neighbour.textContent;
      const words = direction === "left" ? text.match(/\S+\s*$/) : text.match(/^\s*\S+\s*/);
      if (!words) {
        if (direction === "left") e.insertBefore(chip, neighbour); else e.insertBefore(neighbour, chip);
      } else if (direction === "left") {
        const cut = text.length - words[0].length;
        neighbour.textContent = text.slice(0, cut);
        e.insertBefore(document.createTextNode(words[0]), chip.nextSibling);
        // the word now sits after the quote
      } else {
        neighbour.textContent = text.slice(words[0].length);
        e.insertBefore(document.createTextNode(words[0]), chip);
      }
    }
    e.normalize();
    editorChanged();
  }

  function chipBeside(direction) {
    const selection = window.getSelection();
    if (!selection || !selection.rangeCount) return null;
    const range = selection.getRangeAt(0);
    const container = range.startContainer, offset = range.startOffset;
    if (container.nodeType === Node.TEXT_NODE) {
      if (direction === "left" && offset === 0) return container.previousSibling;
      if (direction === "right" && offset === container.textContent.length) return container.nextSibling;
      if (direction === "left" && offset <= container.textContent.length && /^\s*$/.test(container.textContent.slice(0, offset))) return container.previousSibling;
      return null;
    }
    return container.childNodes[direction === "left" ? offset - 1 : offset] || null;
  }

  document.addEventListener("click", function (event) {
    const target = event.target;
    if (target && target.id === "quote-selection") insertQuote();
    const action = target && target.dataset && target.dataset.chipAction;
    if (action) {
      const chip = target.closest(".quote-chip");
      if (action === "remove") { chip.remove(); editorChanged(); } else moveChip(chip, action);
    }
  });

  document.addEventListener("keydown", function (event) {
    const e = editor();
    if (!e || !e.contains(event.target)) return;
    if (event.key === "Enter") {
      event.preventDefault();
      document.execCommand("insertText", false, "\n");
    } else if (event.altKey && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
      const direction = event.key === "ArrowLeft" ? "left" : "right";
      const chip = chipBeside(direction);
      if (chip && chip.classList && chip.classList.contains("quote-chip")) {
        event.preventDefault();
        moveChip(chip, direction);
      }
    }
  });

  // Pasted text arrives as text, never as markup or formatting.
  document.addEventListener("paste", function (event) {
    const e = editor();
    if (!e || !e.contains(event.target)) return;
    event.preventDefault();
    const text = (event.clipboardData || window.clipboardData).getData("text/plain");
    document.execCommand("insertText", false, text);
  });

  document.addEventListener("input", function (event) {
    const e = editor();
    // The caret moves with what is typed; selectionchange arrives later (coalesced), too late
    // if the next thing done is selecting in the story to quote at the caret.
    if (e && e.contains(event.target)) { rememberCaret(); editorChanged(); return; }
    updateCounters();
    linkProbabilities(event);
    applySwingRule();
  });
  document.addEventListener("change", function (event) {
    linkProbabilities(event);
    applySwingRule();
  });
  let selectionTimer = null;
  document.addEventListener("selectionchange", function () {
    rememberCaret();
    clearTimeout(selectionTimer);
    selectionTimer = setTimeout(readSelection, 60);
  });
  document.addEventListener("mouseup", function () { rememberCaret(); readSelection(); });
  document.addEventListener("keyup", function () { rememberCaret(); readSelection(); });

  // ------------------------------------------------------------------------------------------
  // Turn deadlines: the server says when a turn runs out; the page counts down to it
  // ------------------------------------------------------------------------------------------

  function minutesText(ms) {
    const minutes = Math.round(Math.abs(ms) / 60000);
    if (minutes < 1) return "less than a minute";
    if (minutes < 120) return minutes + (minutes === 1 ? " minute" : " minutes");
    return Math.round(minutes / 60) + " hours";
  }

  function updateDeadlines() {
    const now = Date.now();
    document.querySelectorAll("time[data-deadline]").forEach(function (el) {
      const at = Date.parse(el.dataset.deadline);
      if (isNaN(at)) return;
      const left = at - now;
      const clock = new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      el.textContent = left >= 0
        ? minutesText(left) + " left (until " + clock + ")"
        : "overdue by " + minutesText(left) + " (was due " + clock + ")";
      el.classList.toggle("overdue", left < 0);
    });
  }
  setInterval(updateDeadlines, 15000);

  // ------------------------------------------------------------------------------------------
  // A stream the server closed for good: say why instead of going quiet
  // ------------------------------------------------------------------------------------------

  const CLOSED = {
    4401: "You are no longer signed in, so this page stopped updating. Log in again to go on.",
    4403: "This seat is no longer yours (or you are no longer on the study staff), so this page " +
      "stopped updating. Your lobby lists the sessions you hold.",
    4404: "This page cannot be updated: the session is not open to you.",
  };

  document.addEventListener("htmx:wsClose", function (event) {
    const close = event.detail && event.detail.event;
    const message = close && CLOSED[close.code];
    if (!message || document.getElementById("stream-closed")) return;
    const banner = document.createElement("div");
    banner.id = "stream-closed";
    banner.className = "attention";
    banner.setAttribute("role", "alert");
    banner.textContent = message + " ";
    const link = document.createElement("a");
    link.href = close.code === 4401 ? "/accounts/login/?next=" + encodeURIComponent(location.pathname) : "/";
    link.textContent = close.code === 4401 ? "Log in" : "Your sessions";
    banner.appendChild(link);
    const main = document.querySelector("main");
    if (main) main.prepend(banner);
  });

  // ------------------------------------------------------------------------------------------
  // Create a session: show exactly the seats the chosen protocol and rules take
  // ------------------------------------------------------------------------------------------

  // The server computes, for each protocol and rule set, the seat fields its rules take (the
  // "seat-plan" JSON); a field not taken is hidden and disabled, so it is not sent either.
  function applySeatPlan() {
    const form = document.getElementById("session-form");
    const plan = document.getElementById("seat-plan");
    if (!form || !plan) return;
    const seats = JSON.parse(plan.textContent);
    const key = form.elements["protocol"].value + ":" + form.elements["rules"].value;
    const shown = seats[key] || [];
    form.querySelectorAll("[data-seat-field]").forEach(function (field) {
      const taken = shown.indexOf(field.dataset.seatField) >= 0;
      field.hidden = !taken;
      field.querySelectorAll("select, input, textarea").forEach(function (control) {
        control.disabled = !taken;
      });
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.closest && event.target.closest("#session-form")) applySeatPlan();
  });

  function refresh() {
    applySeatPlan();
    updateDeadlines();
    loadEditor();
    applyTurnStatus();
    applyLobby();
    updateCounters();
    paintStory();
  }
  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
  document.addEventListener("htmx:oobAfterSwap", refresh);
  document.addEventListener("htmx:wsAfterMessage", function () { setTimeout(refresh, 0); });
})();
