/* Options page: settings live in browser.storage.local and are read by background.js. */
"use strict";

const DEFAULTS = { mode: "trackers", safeImages: "per-message", allowSenders: [] };

async function load() {
  const cfg = { ...DEFAULTS, ...(await browser.storage.local.get(DEFAULTS)) };
  for (const name of ["mode", "safeImages"]) {
    const input = document.querySelector(`input[name=${name}][value="${cfg[name]}"]`);
    if (input) input.checked = true;
  }
  document.getElementById("allowSenders").value = cfg.allowSenders.join("\n");
}

async function save() {
  const pick = name => (document.querySelector(`input[name=${name}]:checked`) || {}).value;
  const allowSenders = document
    .getElementById("allowSenders")
    .value.split(/\s+/)
    .map(s => s.trim().toLowerCase())
    .filter(s => s.includes("@"));
  await browser.storage.local.set({
    mode: pick("mode") || DEFAULTS.mode,
    safeImages: pick("safeImages") || DEFAULTS.safeImages,
    allowSenders,
  });
  document.getElementById("status").textContent = "Saved.";
  setTimeout(() => (document.getElementById("status").textContent = ""), 2000);
}

document.getElementById("save").addEventListener("click", save);
load();
