/* Options page: settings live in browser.storage.local and are read by background.js. */
"use strict";

const DEFAULTS = { mode: "trackers", safeImages: "per-message", safeImageSenders: [], allowSenders: [] };
const LISTS = ["safeImageSenders", "allowSenders"];

async function load() {
  const cfg = { ...DEFAULTS, ...(await browser.storage.local.get(DEFAULTS)) };
  for (const name of ["mode", "safeImages"]) {
    const input = document.querySelector(`input[name=${name}][value="${cfg[name]}"]`);
    if (input) input.checked = true;
  }
  for (const name of LISTS) document.getElementById(name).value = cfg[name].join("\n");
}

function addresses(text) {
  return text
    .split(/\s+/)
    .map(s => s.trim().toLowerCase())
    .filter(s => s.includes("@"));
}

async function save() {
  const pick = name => (document.querySelector(`input[name=${name}]:checked`) || {}).value;
  const values = {
    mode: pick("mode") || DEFAULTS.mode,
    safeImages: pick("safeImages") || DEFAULTS.safeImages,
  };
  for (const name of LISTS) values[name] = addresses(document.getElementById(name).value);
  await browser.storage.local.set(values);
  document.getElementById("status").textContent = "Saved.";
  setTimeout(() => (document.getElementById("status").textContent = ""), 2000);
}

let saving = null;
document.getElementById("save").addEventListener("click", () => (saving = save()));

async function testFill() {
  // Test mode only: the background hands over values to enter (null otherwise); the form is
  // filled in and saved through the Save button, as a user would.
  const { testFill: values } = (await browser.runtime.sendMessage({ type: "optionsPageOpened" })) || {};
  if (!values) return;
  for (const name of ["mode", "safeImages"]) {
    const input = document.querySelector(`input[name=${name}][value="${values[name]}"]`);
    if (input) input.click();
  }
  for (const name of LISTS) {
    if (values[name] != null) document.getElementById(name).value = values[name];
  }
  document.getElementById("save").click();
  await saving;
  await browser.runtime.sendMessage({ type: "optionsSaved" });
}

load().then(testFill);
