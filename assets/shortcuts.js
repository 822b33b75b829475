// Keyboard shortcuts for the Data tab. Gradio has no hotkey API, so app.launch_kwargs() injects this file through
// launch(head=...) and it clicks the tab's buttons by their elem_id:
//   Ctrl+Enter (Cmd+Enter) submit · Ctrl+S (Cmd+S) save draft · Alt+→ next · Alt+← previous ·
//   Alt+Q next in my review queue (by key position: Option+Q types "œ" on a Mac).
// A shortcut acts only while its button is on screen (the Data tab is open), so other tabs keep their keys.
(function () {
  if (window.__cftShortcuts) return;
  window.__cftShortcuts = true;

  function visibleButton(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    var btn = el.tagName === "BUTTON" ? el : el.querySelector("button");
    if (!btn || btn.disabled || btn.offsetParent === null) return null;
    return btn;
  }

  function press(id, event) {
    var btn = visibleButton(id);
    if (!btn) return;
    event.preventDefault();
    event.stopPropagation();
    // Let the textbox publish its latest value to Gradio before the click reads it.
    var active = document.activeElement;
    if (active && (active.tagName === "TEXTAREA" || active.tagName === "INPUT")) {
      active.dispatchEvent(new Event("input", { bubbles: true }));
    }
    setTimeout(function () { btn.click(); }, 0);
  }

  document.addEventListener("keydown", function (e) {
    var mod = e.ctrlKey || e.metaKey;
    if (mod && !e.altKey && e.key === "Enter") return press("data-submit", e);
    if (mod && !e.altKey && (e.key === "s" || e.key === "S")) return press("data-save-draft", e);
    if (e.altKey && !mod && e.key === "ArrowRight") return press("data-next", e);
    if (e.altKey && !mod && e.key === "ArrowLeft") return press("data-prev", e);
    if (e.altKey && !mod && e.code === "KeyQ") return press("data-next-queue", e);
  }, true);
})();
