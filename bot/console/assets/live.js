// Live thread: the server sends the re-rendered page part whenever the incident
// changes. An update waits while someone is typing a comment.
(() => {
  const live = document.getElementById("live");
  if (!live) return;
  let pending = null;
  const typing = () => [...live.querySelectorAll("input[name=comment]")].some(i => i.value || i === document.activeElement);
  const apply = () => { if (pending !== null && !typing()) { live.innerHTML = pending; pending = null; } };
  const es = new EventSource(live.dataset.stream);
  es.addEventListener("update", e => { pending = e.data; apply(); });
  document.addEventListener("focusout", () => setTimeout(apply, 200));
})();
