/* Options page: settings live in browser.storage.local and are read by background.js. Every
   change is saved at once (text fields after a short pause); the bar says when it was saved. */
"use strict";

let DEFAULTS = {}; // from background.js, the one place they are defined
const LISTS = ["imageSendersOff", "allowSenders"];
const UPSTREAM = /^(socks5h?|socks4|http):\/\/[^\s/:]+:\d+\/?$/i;
const $ = id => document.getElementById(id);

async function load() {
  const { settings: cfg, defaults } = await browser.runtime.sendMessage({ type: "settings" });
  DEFAULTS = defaults;
  for (const name of ["mode", "safeImages"]) {
    const input = document.querySelector(`input[name=${name}][value="${cfg[name]}"]`);
    if (input) input.checked = true;
  }
  for (const name of LISTS) $(name).value = cfg[name].join("\n");
  $("upstream").value = cfg.upstream || "";
}

function addresses(text) {
  return text
    .split(/\s+/)
    .map(s => s.trim().toLowerCase())
    .filter(s => s.includes("@"));
}

let saving = Promise.resolve();
let timer = null;

async function save() {
  const pick = name => (document.querySelector(`input[name=${name}]:checked`) || {}).value;
  const values = { mode: pick("mode") || DEFAULTS.mode, safeImages: pick("safeImages") || DEFAULTS.safeImages };
  for (const name of LISTS) values[name] = addresses($(name).value);
  const upstream = $("upstream").value.trim();
  if (upstream && !UPSTREAM.test(upstream)) {
    $("saved").textContent = "Not saved: the proxy must look like socks5h://127.0.0.1:9050";
    return "invalid upstream";
  }
  values.upstream = upstream;
  await browser.storage.local.set(values);
  $("saved").textContent = `Saved at ${new Date().toLocaleTimeString()}.`;
  return "saved";
}

function saveSoon(delay) {
  $("saved").textContent = "Saving…";
  clearTimeout(timer);
  return new Promise(resolve => {
    timer = setTimeout(() => resolve((saving = save())), delay);
  });
}

for (const input of document.querySelectorAll("input[type=radio]")) input.addEventListener("change", () => saveSoon(0));
for (const id of [...LISTS, "upstream"]) $(id).addEventListener("input", () => saveSoon(600));
window.addEventListener("beforeunload", () => clearTimeout(timer) || save());

async function showHost() {
  const s = await browser.runtime.sendMessage({ type: "hostStatus" });
  const host = $("host");
  host.classList.toggle("bad", !s.ok);
  if (!s.ok) {
    host.textContent = s.error;
    $("cache").textContent = "";
    $("clear-cache").hidden = true;
    return s;
  }
  host.textContent = `The helper is running: tracker-block ${s.version} (protocol ${s.protocol}), Python ${s.python}. Its log: ${s.log}`;
  const mb = (s.cache.bytes / 1048576).toFixed(1);
  $("cache").textContent = `Local copies of images: ${s.cache.images} (${mb} MB) in ${s.cache.path}.`;
  $("clear-cache").hidden = false;
  return s;
}

$("clear-cache").addEventListener("click", async () => {
  await browser.runtime.sendMessage({ type: "clearCache" });
  await showHost();
});

async function testFill() {
  // Test mode only: the background hands over values to enter (null otherwise); the form is
  // filled in like a user would, and saves by itself.
  const { testFill: values } = (await browser.runtime.sendMessage({ type: "optionsPageOpened" })) || {};
  if (!values) return;
  let done = null;
  for (const name of ["mode", "safeImages"]) {
    const input = document.querySelector(`input[name=${name}][value="${values[name]}"]`);
    if (input && !input.checked) {
      input.click();
      done = saveSoon(0);
    }
  }
  for (const name of [...LISTS, "upstream"]) {
    if (values[name] == null) continue;
    $(name).value = values[name];
    $(name).dispatchEvent(new Event("input"));
    done = saveSoon(600);
  }
  const result = done ? await (await done) : "unchanged";
  await browser.runtime.sendMessage({
    type: "optionsSaved",
    status: { result, saved: $("saved").textContent, host: $("host").textContent, hostOk: !$("host").classList.contains("bad") },
  });
}

load()
  .then(() => showHost())
  .then(testFill);
