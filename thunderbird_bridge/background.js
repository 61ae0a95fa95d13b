/* tracker-block Thunderbird bridge: background (MV3 event page).
 *
 * Owns the single native-host connection, registers the message display script, and answers the
 * display script's requests: clean a rendered body (with the headers only the background can
 * read), fetch safe images, remember per-sender choices. Thunderbird's own remote-content
 * blocking stays on: the extension never asks to load remote content.
 */
"use strict";

const HOST_NAME = "tracker_block";
const DISPLAY_SCRIPT_ID = "tracker-block-display";
const DEFAULTS = { mode: "trackers", safeImages: "per-message", safeImageSenders: [], allowSenders: [] };

// ---------------------------------------------------------------- native host connection
let port = null;
let nextId = 1;
const pending = new Map(); // id -> {resolve, reject, chunks}
let hello = null; // Promise of the hello reply for the current connection

function connect() {
  if (port) return port;
  port = browser.runtime.connectNative(HOST_NAME);
  port.onMessage.addListener(onHostMessage);
  port.onDisconnect.addListener(p => {
    const why = (p && p.error && p.error.message) || "native host disconnected";
    console.warn("tracker-block:", why);
    port = null;
    hello = null;
    for (const { reject } of pending.values()) reject(new Error(why));
    pending.clear();
  });
  hello = request({ type: "hello", version: browser.runtime.getManifest().version }, true);
  return port;
}

function onHostMessage(msg) {
  const entry = pending.get(msg.id);
  if (!entry) {
    if (msg && msg.ok === false) console.warn("tracker-block host:", msg.error);
    return;
  }
  if (typeof msg.chunk === "number") {
    // Replies over Thunderbird's 1 MiB host->extension cap arrive as JSON text in pieces.
    entry.chunks = entry.chunks || new Array(msg.chunks);
    entry.chunks[msg.chunk] = msg.data;
    if (entry.chunks.filter(c => c !== undefined).length < msg.chunks) return;
    msg = JSON.parse(entry.chunks.join(""));
  }
  pending.delete(msg.id);
  if (msg.ok) entry.resolve(msg);
  else entry.reject(new Error(msg.error || "native host error"));
}

function request(body, skipHello = false) {
  connect();
  const send = () =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      try {
        port.postMessage({ id, ...body });
      } catch (e) {
        pending.delete(id);
        reject(e);
      }
    });
  return skipHello ? send() : hello.then(send, send);
}

// ---------------------------------------------------------------- settings
async function settings() {
  const stored = await browser.storage.local.get(DEFAULTS);
  return { ...DEFAULTS, ...stored };
}

function senderAddress(author) {
  const m = /<([^>]+)>/.exec(author || "");
  return (m ? m[1] : author || "").trim().toLowerCase();
}

function senderAllowed(address, list) {
  const domain = address.includes("@") ? "@" + address.split("@").pop() : null;
  return list.some(entry => {
    const e = entry.trim().toLowerCase();
    return e && (e === address || (domain && e === domain));
  });
}

// ---------------------------------------------------------------- per-tab state
const testTabs = new Map(); // tabId -> fixture (test mode only)
const injectedTabs = new Set(); // tabs cleaned by executeScript: already open at start-up

async function displayedMessage(tabId) {
  const res = await browser.messageDisplay.getDisplayedMessages(tabId);
  const list = Array.isArray(res) ? res : (res && res.messages) || [];
  return list[0] || null;
}

async function handleClean(msg, tabId) {
  const cfg = await settings();
  const header = tabId != null ? await displayedMessage(tabId) : null;
  let headers = {};
  if (header) {
    try {
      headers = (await browser.messages.getFull(header.id)).headers || {};
    } catch (e) {
      console.warn("tracker-block: getFull failed", e);
    }
  }
  let reply, error;
  try {
    // allow_senders: trusted senders are matched by the host, with the CLI's rule.
    reply = await request({
      type: "clean", html: msg.html, headers,
      options: { mode: cfg.mode, allow_senders: cfg.allowSenders },
    });
  } catch (e) {
    error = e.message || String(e);
  }
  const fixture = testTabs.get(tabId);
  const test = fixture ? { ...fixture, injectedAfterStart: injectedTabs.has(tabId) } : null;
  if (error) return { error, test };
  const sender = senderAddress(header && header.author);
  const autoSafe =
    cfg.safeImages === "always" ||
    (cfg.safeImages === "per-sender" && sender && senderAllowed(sender, cfg.safeImageSenders));
  return {
    untouched: !!reply.untouched,
    html: reply.html,
    findings: reply.findings,
    banner: reply.banner,
    token: reply.token,
    remoteImages: reply.remote_images,
    sender,
    safeImagesPolicy: cfg.safeImages,
    autoSafeImages: !!autoSafe && cfg.safeImages !== "never",
    test,
  };
}

async function handleMessage(msg, sender) {
  const tabId = sender.tab ? sender.tab.id : null;
  switch (msg.type) {
    case "clean":
      return handleClean(msg, tabId);
    case "fetchImages": {
      const cfg = await settings();
      if (cfg.safeImages === "never") throw new Error("safe images are switched off in the options");
      const reply = await request({ type: "fetch_images", token: msg.token, urls: msg.urls });
      return { images: reply.images, errors: reply.errors };
    }
    case "alwaysSafeImages": {
      // "Always for <sender>": safe images of this sender's next messages load by themselves.
      const cfg = await settings();
      const list = cfg.safeImageSenders.slice();
      if (msg.sender && !senderAllowed(msg.sender, list)) list.push(msg.sender);
      await browser.storage.local.set({ safeImageSenders: list });
      return { safeImageSenders: list };
    }
    case "optionsPageOpened":
      // Test mode only: the options page is filled in and saved like a user would.
      return { testFill: testOptions ? testOptions.values : null };
    case "optionsSaved":
      if (testOptions) testOptions.resolve();
      return {};
    case "testDone": {
      const fixture = testTabs.get(tabId);
      const done = fixture && testDone.get(fixture.name);
      if (done) done();
      return {};
    }
    case "testReport":
      await testReport(msg.report);
      return {};
    case "log":
      await request({ type: "log", level: msg.level, message: msg.message });
      return {};
    default:
      throw new Error("unknown request " + msg.type);
  }
}

browser.runtime.onMessage.addListener((msg, sender) => handleMessage(msg, sender));

// ---------------------------------------------------------------- display script registration
async function ensureDisplayScript() {
  const existing = await browser.scripting.messageDisplay.getRegisteredScripts({
    ids: [DISPLAY_SCRIPT_ID],
  });
  if (existing.length) return false;
  await browser.scripting.messageDisplay.registerScripts([
    {
      id: DISPLAY_SCRIPT_ID,
      js: ["display.js"],
      css: ["banner.css"],
      runAt: "document_start",
    },
  ]);
  return true;
}

async function cleanAlreadyOpenMessages() {
  // Messages displayed before the extension started never saw the registered script.
  const tabs = await browser.tabs.query({});
  for (const tab of tabs) {
    if (!["mail", "messageDisplay"].includes(tab.type)) continue;
    try {
      if (!(await displayedMessage(tab.id))) continue;
      injectedTabs.add(tab.id);
      await browser.scripting.insertCSS({ target: { tabId: tab.id }, files: ["banner.css"] });
      await browser.scripting.executeScript({ target: { tabId: tab.id }, files: ["display.js"] });
    } catch (e) {
      console.warn("tracker-block: could not clean open message in tab", tab.id, e);
    }
  }
}

// ---------------------------------------------------------------- test mode
function b64ToBytes(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

// Test mode only (the host's hello carries a plan only when TRACKER_BLOCK_TB_TEST is set).
const testDone = new Map(); // fixture name -> resolve, called when its display script is done
let testOptions = null; // {values, resolve} while the options page is being filled in

const testReport = report => request({ type: "test_report", report });
const sleep = ms => new Promise(r => setTimeout(r, ms));

function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function fixtureFile(fx) {
  return new File([b64ToBytes(fx.eml_b64)], fx.name, { type: "message/rfc822" });
}

async function testOpen(fx) {
  const finished = new Promise(resolve => testDone.set(fx.name, resolve));
  const tab = await browser.messageDisplay.open({ file: fixtureFile(fx), location: "tab", active: true });
  testTabs.set(tab.id, { name: fx.name, actions: fx.actions || ["report"] });
  await within(finished, 20000, fx.name);
}

async function testFillOptions(values) {
  // The real options page, filled in and saved through its form (options.js asks for the values).
  const saved = new Promise(resolve => (testOptions = { values, resolve }));
  const tab = await browser.tabs.create({ url: browser.runtime.getURL("options.html") });
  try {
    await within(saved, 15000, "the options page");
  } finally {
    testOptions = null;
    await browser.tabs.remove(tab.id);
  }
  const stored = await browser.storage.local.get(["mode", "safeImages", "safeImageSenders", "allowSenders"]);
  await testReport({ fixture: "options", phase: "options-saved", stored });
}

async function testOpenBeforeExtension(fx) {
  // A message that is on screen before the extension starts: open it with no display script
  // registered, then reload the extension. start() must find and clean it (executeScript).
  await browser.scripting.messageDisplay.unregisterScripts({ ids: [DISPLAY_SCRIPT_ID] });
  const tab = await browser.messageDisplay.open({ file: fixtureFile(fx), location: "tab", active: true });
  for (let i = 0; i < 50 && !(await displayedMessage(tab.id)); i++) await sleep(100);
  await browser.storage.local.set({
    testOpenTabs: { [tab.id]: { name: fx.name, actions: fx.actions || ["report"] } },
  });
  await testReport({ fixture: fx.name, phase: "opened-without-extension", tabId: tab.id });
  browser.runtime.reload();
}

async function restoreTestTabs() {
  // After the test's reload: the fixture that was left open, so its reports can be made.
  const { testOpenTabs } = await browser.storage.local.get("testOpenTabs");
  for (const [id, fixture] of Object.entries(testOpenTabs || {})) testTabs.set(Number(id), fixture);
  if (testOpenTabs) await browser.storage.local.remove("testOpenTabs");
}

async function runTestPlan(plan) {
  // An event page can wake up again later: run the plan once per test run.
  const { testRunDone } = await browser.storage.local.get("testRunDone");
  if (plan.run_id && testRunDone === plan.run_id) return;
  await browser.storage.local.set({ testRunDone: plan.run_id || "" });
  if (plan.prefs && Object.keys(plan.prefs).length) await browser.storage.local.set(plan.prefs);
  for (const step of plan.steps || []) {
    try {
      if (step.options) await testFillOptions(step.options);
      else if (step.before_extension) return await testOpenBeforeExtension(step);
      else await testOpen(step);
    } catch (e) {
      await testReport({ fixture: step.name || "options", phase: "step-failed", error: String(e) });
    }
  }
}

// ---------------------------------------------------------------- start-up
async function start() {
  const registered = await ensureDisplayScript();
  connect();
  let helloReply = null;
  try {
    helloReply = await hello;
  } catch (e) {
    console.warn("tracker-block: native host unavailable:", e.message);
  }
  if (helloReply && helloReply.test) await restoreTestTabs();
  if (registered) await cleanAlreadyOpenMessages();
  if (helloReply && helloReply.test) await runTestPlan(helloReply.test);
}

browser.runtime.onStartup.addListener(() => {});
browser.runtime.onInstalled.addListener(() => {});
start().catch(e => console.error("tracker-block start-up failed", e));
