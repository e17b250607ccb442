// Behaviour of the session rooms and the lobby. No rules live here: limits, quotes and scores
// are computed on the server (draft preview, score preview); this file only wires the page.
(function () {
  "use strict";

  function flag(el, name) { return el && el.dataset[name] === "true"; }

  // Enable each move button only when the pushed turn status allows it; hide forms at the end.
  function applyTurnStatus() {
    const status = document.getElementById("turn-status");
    if (!status) return;
    const needs = {
      "your-turn": flag(status, "yourTurn"),
      "may-speak": flag(status, "yourTurn") && flag(status, "speaking"),
      "may-vote": flag(status, "yourTurn") && flag(status, "voting"),
      "may-continue": flag(status, "yourTurn") && flag(status, "mayContinue"),
      "may-end": flag(status, "yourTurn") && flag(status, "mayEnd"),
    };
    document.querySelectorAll("[data-needs]").forEach(function (button) {
      button.disabled = !needs[button.dataset.needs];
    });
    if (flag(status, "finished")) {
      document.querySelectorAll(".move-form").forEach(function (form) { form.hidden = true; });
    }
    const base = document.title.replace(/^\(Your turn\) /, "");
    document.title = (flag(status, "yourTurn") ? "(Your turn) " : "") + base;
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

  // Linked probability inputs: they always sum to 100%.
  function linkProbabilities(event) {
    const input = event.target;
    if (!input.matches || !input.matches("[data-prob]")) return;
    const form = input.closest("form");
    const index = input.dataset.prob;
    const value = Math.max(1, Math.min(99, Math.round(Number(input.value) || 0)));
    const others = Array.from(new Set(Array.from(form.querySelectorAll("[data-prob]"))
      .map(function (el) { return el.dataset.prob; }))).filter(function (i) { return i !== index; });
    let rest = 100 - value;
    const current = others.map(function (i) { return Number(form.querySelector('input[type=number][data-prob="' + i + '"]').value) || 1; });
    const total = current.reduce(function (a, b) { return a + b; }, 0) || 1;
    const shares = current.map(function (v, k) {
      return k === current.length - 1 ? null : Math.max(1, Math.round(rest * v / total));
    });
    let assigned = shares.slice(0, -1).reduce(function (a, b) { return a + b; }, 0);
    shares[shares.length - 1] = rest - assigned;
    form.querySelectorAll('[data-prob="' + index + '"]').forEach(function (el) { if (el !== input || input.type === "range") el.value = value; });
    others.forEach(function (i, k) {
      form.querySelectorAll('[data-prob="' + i + '"]').forEach(function (el) { el.value = shares[k]; });
    });
    form.dispatchEvent(new Event("prob-change"));
  }

  // Passage selection -> offsets in the passage text.
  let lastSelection = null;
  let draftCursor = null;

  function offsetIn(node, offset) {
    const paragraph = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    const p = paragraph && paragraph.closest("#passage p");
    if (!p) return null;
    return Number(p.dataset.start) + (node.nodeType === Node.TEXT_NODE ? offset : (offset ? p.textContent.length : 0));
  }

  function readSelection() {
    const passage = document.getElementById("passage");
    const button = document.getElementById("quote-selection");
    const selection = window.getSelection();
    if (!passage || !selection || selection.isCollapsed || !selection.rangeCount) return;
    const range = selection.getRangeAt(0);
    if (!passage.contains(range.commonAncestorContainer)) return;
    const start = offsetIn(range.startContainer, range.startOffset);
    const end = offsetIn(range.endContainer, range.endOffset);
    if (start === null || end === null || end <= start) return;
    lastSelection = { start: start, end: end, text: selection.toString() };
    if (button) button.disabled = false;
  }

  function insertQuote() {
    const draft = document.getElementById("draft");
    if (!draft || !lastSelection) return;
    const tag = '<quote start="' + lastSelection.start + '" end="' + lastSelection.end + '">' +
      lastSelection.text.replace(/</g, "‹") + "</quote>";
    const at = draftCursor === null ? draft.value.length : draftCursor;
    draft.value = draft.value.slice(0, at) + tag + draft.value.slice(at);
    draftCursor = at + tag.length;
    draft.focus();
    draft.setSelectionRange(draftCursor, draftCursor);
    draft.dispatchEvent(new Event("quote-inserted"));
  }

  document.addEventListener("mouseup", readSelection);
  document.addEventListener("keyup", readSelection);
  document.addEventListener("input", function (event) { updateCounters(); linkProbabilities(event); });
  document.addEventListener("click", function (event) {
    if (event.target && event.target.id === "quote-selection") insertQuote();
  });
  ["keyup", "click", "blur", "select"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (event.target && event.target.id === "draft") draftCursor = event.target.selectionStart;
    }, true);
  });
  function refresh() { applyTurnStatus(); applyLobby(); updateCounters(); }
  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
  document.addEventListener("htmx:oobAfterSwap", refresh);
  document.addEventListener("htmx:wsAfterMessage", function () { setTimeout(refresh, 0); });
})();
