// Refresh the list, unless the user is choosing filters.
setInterval(() => { if (!document.querySelector(".filters :focus")) location.reload(); }, 5000);
