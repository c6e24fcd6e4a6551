// The receipt's "Print or save as PDF" button: shown only when JavaScript runs (CSP forbids inline handlers).
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
