// Buttons with data-confirm ask before submitting. One listener on the
// document, so buttons the live thread re-renders ask too (the page's
// policy allows no inline handlers).
document.addEventListener("click", e => {
  const b = e.target.closest("[data-confirm]");
  if (b && !confirm(b.dataset.confirm)) e.preventDefault();
});
