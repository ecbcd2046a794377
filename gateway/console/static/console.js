// hookgate console: progressive enhancement only; every page works without
// this file. Press "/" to jump to the page's search box.
document.addEventListener("keydown", function (e) {
  if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
  var t = e.target && e.target.tagName;
  if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT") return;
  var box = document.querySelector("[data-hotkey='/']");
  if (box) { e.preventDefault(); box.focus(); box.select(); }
});
