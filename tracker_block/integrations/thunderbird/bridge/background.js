/* tracker-block Thunderbird bridge: background (MV3 event page).
 *
 * Owns the native-host connection and the one indicator: the messageDisplayAction button in the
 * message header (badge = what was removed, popup = what was found, by company, in the report's
 * words). Nothing the extension says is drawn inside the message, where the sender's CSS could
 * hide or fake it. Safe images are fetched when a message arrives (messages.onNewMailReceived)
 * into the host's local cache, so opening a message touches no network. Thunderbird's own
 * remote-content blocking stays on: the extension never asks to load remote content.
 */
"use strict";

const HOST_NAME = "tracker_block";
const DISPLAY_SCRIPT_ID = "tracker-block-display";
const DEFAULTS = {
  mode: "trackers",
  safeImages: "arrival", // arrival | click | never
  imageSendersOff: [], // senders whose images are never fetched
  allowSenders: [], // trusted senders: shown as sent, not checked
  upstream: "", // optional socks5:// / socks5h:// / http:// proxy for image fetches
};
const HOST_MISSING =
  "The tracker-block helper is not installed or cannot start — run `tracker-block thunderbird doctor` in a terminal.";
const COLORS = { removed: "#37474f", error: "#b3261e", warn: "#a15c00", neutral: "#6b7280" };

// ---------------------------------------------------------------- native host connection
let port = null;
let nextId = 1;
const pending = new Map(); // id -> {resolve, reject, chunks, onProgress}
let hello = null; // Promise of the hello reply for the current connection
let hostInfo = null; // the last hello reply
let hostError = null; // why the host could not be reached, in words

function connect() {
  if (port) return;
  try {
    port = browser.runtime.connectNative(HOST_NAME);
  } catch (e) {
    port = null;
    hostError = HOST_MISSING;
    hello = Promise.reject(new Error(HOST_MISSING));
    hello.catch(() => {});
    return;
  }
  const thisPort = port;
  port.onMessage.addListener(onHostMessage);
  port.onDisconnect.addListener(p => {
    const raw = (p && p.error && p.error.message) || "the helper stopped";
    // Before hello: the host could not start at all (no manifest, bad path, python missing).
    const why = hostInfo ? `the tracker-block helper stopped (${raw})` : HOST_MISSING;
    console.warn("tracker-block:", raw);
    if (port === thisPort) {
      port = null;
      hello = null;
    }
    if (!hostInfo) hostError = HOST_MISSING;
    hostInfo = null;
    for (const { reject } of pending.values()) reject(new Error(why));
    pending.clear();
  });
  hello = post({ type: "hello", version: browser.runtime.getManifest().version }).then(
    reply => {
      hostInfo = reply;
      hostError = null;
      return reply;
    }
  );
  hello.catch(() => {});
}

function onHostMessage(msg) {
  const entry = pending.get(msg.id);
  if (!entry) {
    if (msg && msg.ok === false) console.warn("tracker-block host:", msg.error);
    return;
  }
  if (msg.progress) {
    if (entry.onProgress) entry.onProgress(msg.progress);
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
  else entry.reject(new Error(msg.error || "the helper failed"));
}

function post(body, onProgress) {
  return new Promise((resolve, reject) => {
    if (!port) {
      reject(new Error(hostError || HOST_MISSING));
      return;
    }
    const id = nextId++;
    pending.set(id, { resolve, reject, onProgress });
    try {
      port.postMessage({ id, ...body });
    } catch (e) {
      pending.delete(id);
      reject(new Error(hostError || HOST_MISSING));
    }
  });
}

async function request(body, onProgress) {
  connect();
  await hello; // rejects with the actionable message when the host cannot start
  return post(body, onProgress);
}

// ---------------------------------------------------------------- settings
// Safe-image choices of version 0.1 (fetched at open time) -> the nearest choice now.
const OLD_SAFE_IMAGES = { "per-message": "click", "per-sender": "click", always: "arrival" };

async function settings() {
  const stored = await browser.storage.local.get(Object.keys(DEFAULTS));
  const cfg = { ...DEFAULTS, ...stored };
  if (OLD_SAFE_IMAGES[cfg.safeImages]) {
    cfg.safeImages = OLD_SAFE_IMAGES[cfg.safeImages];
    await browser.storage.local.set({ safeImages: cfg.safeImages });
  }
  return cfg;
}

function senderAddress(author) {
  const m = /<([^>]+)>/.exec(author || "");
  return (m ? m[1] : author || "").trim().toLowerCase();
}

function senderListed(address, list) {
  if (!address) return false;
  const domain = address.includes("@") ? "@" + address.split("@").pop() : null;
  return list.some(entry => {
    const e = entry.trim().toLowerCase();
    return e && (e === address || (domain && e === domain));
  });
}

function hostOptions(cfg) {
  return { mode: cfg.mode, allow_senders: cfg.allowSenders, upstream: cfg.upstream || null };
}

// ---------------------------------------------------------------- per-tab state and the button
const tabs = new Map(); // tabId -> state shown by the button and the popup
const injectedTabs = new Set(); // tabs cleaned by executeScript: already open at start-up

function tabState(tabId) {
  if (!tabs.has(tabId)) tabs.set(tabId, { kind: "pending" });
  return tabs.get(tabId);
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function describeState(s) {
  // [badge text, badge colour, tooltip, label]
  if (s.kind === "pending") return ["…", COLORS.neutral, "tracker-block: checking this message…", "Checking…"];
  if (s.kind === "error")
    return ["!", COLORS.error, `tracker-block could not check this message. ${s.error}`, "Not checked"];
  if (s.kind === "allowlisted")
    return ["–", COLORS.neutral, `tracker-block: not checked — ${s.sender} is on your list of trusted senders`, "Not checked"];
  if (s.remoteAlready)
    return ["!", COLORS.warn,
      "tracker-block: remote content was allowed for this message, so trackers may already have fired", "Trackers may have fired"];
  const parts = [];
  if (s.removed) parts.push(plural(s.removed, "tracker removed", "trackers removed"));
  if (s.linksLeft)
    parts.push(plural(s.linksLeft, "link still tracks if clicked (marked ⚑)", "links still track if clicked (marked ⚑)"));
  if (s.summary.links_cleaned) parts.push(plural(s.summary.links_cleaned, "link cleaned", "links cleaned"));
  const words = parts.length ? parts.join(", ") : "checked — no trackers found";
  const label = s.removed ? "Removed" : s.status === "clean" ? "No trackers" : "Checked";
  return [s.removed ? String(s.removed) : "", COLORS.removed, `tracker-block: ${words}`, label];
}

let painting = Promise.resolve();

function paint(tabId) {
  // One paint at a time, each from the state as it is then: the last one shows the last state.
  painting = painting.then(() => paintNow(tabId));
  return painting;
}

async function paintNow(tabId) {
  const s = tabs.get(tabId);
  if (!s) return;
  const [text, color, title, label] = describeState(s);
  try {
    await browser.messageDisplayAction.setLabel({ tabId, label });
    await browser.messageDisplayAction.setBadgeText({ tabId, text });
    await browser.messageDisplayAction.setBadgeBackgroundColor({ tabId, color });
    await browser.messageDisplayAction.setTitle({ tabId, title });
  } catch (e) {
    // The tab closed meanwhile.
  }
  browser.runtime.sendMessage({ type: "stateChanged", tabId }).catch(() => {});
}

async function displayedMessage(tabId) {
  const res = await browser.messageDisplay.getDisplayedMessages(tabId);
  const list = Array.isArray(res) ? res : (res && res.messages) || [];
  return list[0] || null;
}

async function handleClean(msg, tabId) {
  const cfg = await settings();
  const header = tabId != null ? await displayedMessage(tabId) : null;
  tabs.set(tabId, { kind: "pending" });
  paint(tabId);
  let headers = {};
  if (header) {
    try {
      headers = (await browser.messages.getFull(header.id)).headers || {};
    } catch (e) {
      console.warn("tracker-block: getFull failed", e);
    }
  }
  const sender = senderAddress(header && header.author);
  const imagesOff = cfg.safeImages === "never" || senderListed(sender, cfg.imageSendersOff);
  let reply;
  try {
    reply = await request({ type: "clean", html: msg.html, headers, options: hostOptions(cfg), use_cache: !imagesOff });
  } catch (e) {
    let error = e.message || String(e);
    if (error !== HOST_MISSING && hostInfo)
      error = `The tracker-block helper failed on this message (${error}). Details are in its log: ${hostInfo.log}`;
    tabs.set(tabId, { kind: "error", error, sender });
    paint(tabId);
    return { error };
  }
  const arrived = header && header.headerMessageId ? await prefetchRecord(header.headerMessageId) : null;
  const state = {
    kind: reply.untouched ? "allowlisted" : "checked",
    status: reply.status,
    removed: reply.removed,
    linksLeft: reply.links_left,
    summary: reply.summary,
    lines: reply.lines,
    sender: reply.sender || sender,
    token: reply.token,
    images: {
      urls: reply.remote_images,
      cached: Object.keys(reply.cached),
      fetched: [],
      failed: {},
      progress: null,
      policy: cfg.safeImages,
      senderOff: senderListed(sender, cfg.imageSendersOff),
      arrived,
    },
    remoteAlready: !!msg.remoteAlready,
  };
  tabs.set(tabId, state);
  paint(tabId);
  const left = (reply.findings || []).filter(f => f.action === "left-marked" && f.kind === "link").map(f => f.url);
  return { untouched: !!reply.untouched, html: reply.html, cached: reply.cached, leftLinks: left };
}

async function loadImages(tabId, urls) {
  // The reader asked (popup): fetch now. The sender's image server sees that it happens now.
  const s = tabs.get(tabId);
  if (!s || !s.token) throw new Error("this message was not checked, so no image counts as safe");
  const cfg = await settings();
  if (cfg.safeImages === "never") throw new Error("safe images are switched off in the options");
  const want = urls || s.images.urls.filter(u => !s.images.cached.includes(u) && !s.images.fetched.includes(u));
  s.images.progress = { done: 0, total: want.length };
  for (const u of want) delete s.images.failed[u];
  paint(tabId);
  let reply;
  try {
    reply = await request({ type: "fetch_images", token: s.token, urls: want, options: hostOptions(cfg) }, p => {
      s.images.progress = p;
      s.images.lastProgress = p;
      paint(tabId);
    });
  } catch (e) {
    for (const u of want) s.images.failed[u] = e.message || String(e);
    s.images.progress = null;
    paint(tabId);
    return { images: 0, errors: s.images.failed };
  }
  s.images.progress = null;
  for (const u of Object.keys(reply.images)) if (!s.images.fetched.includes(u)) s.images.fetched.push(u);
  Object.assign(s.images.failed, reply.errors);
  await browser.tabs.sendMessage(tabId, { type: "showImages", images: reply.images }).catch(() => {});
  paint(tabId);
  return { images: Object.keys(reply.images).length, errors: reply.errors };
}

async function setSenderImagesOff(sender, off) {
  const cfg = await settings();
  let list = cfg.imageSendersOff.filter(e => e.trim().toLowerCase() !== sender);
  if (off) list.push(sender);
  await browser.storage.local.set({ imageSendersOff: list });
  for (const [tabId, s] of tabs) {
    if (s.sender === sender && s.images) {
      s.images.senderOff = off;
      paint(tabId);
    }
  }
  return { imageSendersOff: list };
}

async function hostStatus() {
  try {
    connect();
    const info = await hello;
    const cache = await post({ type: "cache_info" });
    return { ok: true, version: info.host_version, protocol: info.protocol, log: info.log, python: info.python, cache };
  } catch (e) {
    return { ok: false, error: e.message || String(e) };
  }
}

async function handleMessage(msg, sender) {
  const tabId = sender.tab ? sender.tab.id : msg.tabId;
  switch (msg.type) {
    case "clean":
      return handleClean(msg, tabId);
    case "rendered": {
      // The display script swapped in the cleaned copy: what it could show, and whether remote
      // content had been allowed (then trackers may already have fired).
      const s = tabs.get(tabId);
      if (s && msg.remoteAlready) {
        s.remoteAlready = true;
        paint(tabId);
      }
      if (testTabs.has(tabId)) runTestActions(tabId);
      return {};
    }
    case "remoteLoaded": {
      const s = tabs.get(tabId);
      if (s) {
        s.remoteAlready = true;
        paint(tabId);
      }
      return {};
    }
    case "popupState": {
      const s = tabs.get(msg.tabId) || null;
      const fx = testTabs.get(msg.tabId);
      return { state: s, hostError, test: testPopup.has(msg.tabId), keepOpen: !!(fx && fx.keepPopup) };
    }
    case "loadImages":
      return loadImages(msg.tabId, msg.urls);
    case "senderImages":
      return setSenderImagesOff(msg.sender, msg.off);
    case "hostStatus":
      return hostStatus();
    case "settings":
      return { settings: await settings(), defaults: DEFAULTS };
    case "clearCache":
      return request({ type: "cache_clear" });
    case "optionsPageOpened":
      // Test mode only: the options page is filled in like a user would.
      return { testFill: testOptions ? testOptions.values : null };
    case "optionsSaved":
      if (testOptions) testOptions.resolve(msg.status);
      return {};
    case "popupReport": {
      const done = testPopup.get(msg.tabId);
      if (done) done(msg.report);
      return {};
    }
    case "log":
      await request({ type: "log", level: msg.level, message: msg.message });
      return {};
    default:
      throw new Error("unknown request " + msg.type);
  }
}

browser.runtime.onMessage.addListener((msg, sender) => handleMessage(msg, sender));
browser.tabs.onRemoved.addListener(tabId => tabs.delete(tabId));

// ---------------------------------------------------------------- safe images at arrival
async function prefetchRecord(headerMessageId) {
  const { prefetched } = await browser.storage.local.get({ prefetched: {} });
  return prefetched[headerMessageId] || null;
}

async function rememberPrefetch(headerMessageId, record) {
  const { prefetched } = await browser.storage.local.get({ prefetched: {} });
  prefetched[headerMessageId] = record;
  const keys = Object.keys(prefetched);
  for (const k of keys.slice(0, Math.max(0, keys.length - 2000))) delete prefetched[k];
  await browser.storage.local.set({ prefetched });
}

function bytesToB64(buffer) {
  const bytes = new Uint8Array(buffer);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

async function prefetchMessage(header) {
  const cfg = await settings();
  const sender = senderAddress(header.author);
  if (cfg.safeImages !== "arrival") return { skipped: "safe images are not fetched at arrival (options)" };
  // Fetching a spam message's images would tell the spammer the address is read.
  if (header.junk) return { skipped: "junk mail: images are not fetched" };
  if (senderListed(sender, cfg.imageSendersOff)) return { skipped: `images from ${sender} are off` };
  const raw = await (await browser.messages.getRaw(header.id)).arrayBuffer();
  const reply = await request({ type: "prefetch", raw: bytesToB64(raw), options: hostOptions(cfg) });
  const record = {
    time: Date.now(),
    images: Object.keys(reply.images).length,
    failed: Object.keys(reply.errors).length,
  };
  await rememberPrefetch(header.headerMessageId, record);
  return record;
}

async function onNewMail(folder, messageList) {
  let page = messageList;
  for (;;) {
    for (const header of page.messages || []) {
      let result;
      try {
        result = await prefetchMessage(header);
      } catch (e) {
        result = { error: e.message || String(e) };
        console.warn("tracker-block: could not fetch the images of a new message:", result.error);
      }
      const done = testArrivals.get(header.headerMessageId);
      if (done) done({ messageId: header.id, ...result });
    }
    if (!page.id) break;
    page = await browser.messages.continueList(page.id);
  }
}

// Inbox and ordinary folders only (not Junk, Trash, Sent, ...): Thunderbird's own choice when
// monitorAllFolders is false.
browser.messages.onNewMailReceived.addListener(onNewMail, false);

// ---------------------------------------------------------------- display script registration
async function ensureDisplayScript() {
  // getRegisteredScripts({ids}) logs an error for an id that is not registered yet: list all.
  const existing = await browser.scripting.messageDisplay.getRegisteredScripts();
  if (existing.some(s => s.id === DISPLAY_SCRIPT_ID)) return false;
  await browser.scripting.messageDisplay.registerScripts([
    { id: DISPLAY_SCRIPT_ID, js: ["display.js"], css: ["display.css"], runAt: "document_start" },
  ]);
  return true;
}

async function cleanAlreadyOpenMessages() {
  // Messages displayed before the extension started never saw the registered script.
  for (const tab of await browser.tabs.query({})) {
    if (!["mail", "messageDisplay"].includes(tab.type)) continue;
    try {
      if (!(await displayedMessage(tab.id).catch(() => null))) continue;
      injectedTabs.add(tab.id);
      await browser.scripting.insertCSS({ target: { tabId: tab.id }, files: ["display.css"] });
      await browser.scripting.executeScript({ target: { tabId: tab.id }, files: ["display.js"] });
    } catch (e) {
      console.warn("tracker-block: could not clean open message in tab", tab.id, e);
    }
  }
}

// ---------------------------------------------------------------- test mode
// Only when the host's hello carries a plan (TRACKER_BLOCK_TB_TEST set for the host). Steps run
// one after the other: open a fixture, let a fixture arrive in Local Folders, fill in the options
// page, or open a fixture before the extension starts.
const testTabs = new Map(); // tabId -> {name, actions, resolve}
const testArrivals = new Map(); // headerMessageId -> resolve(prefetch result)
const testPopup = new Map(); // tabId -> resolve(popup report)
let testOptions = null; // {values, resolve} while the options page is being filled in

let testReportUrl = null; // loopback URL of the test's report server: used while the host is away

async function testReport(report) {
  try {
    await request({ type: "test_report", report });
  } catch (e) {
    if (!testReportUrl) throw e;
    // The host is gone (the host-missing test): the report goes to the test's loopback server.
    await fetch(testReportUrl, { method: "POST", mode: "no-cors", body: JSON.stringify({ ...report, via: "http" }) });
  }
}
const sleep = ms => new Promise(r => setTimeout(r, ms));

function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function b64ToBytes(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

function fixtureFile(fx) {
  return new File([b64ToBytes(fx.eml_b64)], fx.name, { type: "message/rfc822" });
}

async function buttonFacts(tabId) {
  await painting; // what the reader sees once the button is painted
  const api = browser.messageDisplayAction;
  return {
    badge: await api.getBadgeText({ tabId }),
    badgeColor: await api.getBadgeBackgroundColor({ tabId }),
    title: await api.getTitle({ tabId }),
    label: await api.getLabel({ tabId }),
  };
}

async function runTestActions(tabId) {
  const fx = testTabs.get(tabId);
  if (!fx || fx.running) return;
  fx.running = true;
  const report = async (phase, extra) => {
    const facts = await browser.tabs.sendMessage(tabId, { type: "testFacts" });
    await testReport({ fixture: fx.name, phase, injectedAfterStart: injectedTabs.has(tabId),
      button: await buttonFacts(tabId), state: tabs.get(tabId) || null, ...facts, ...extra });
  };
  for (const action of fx.actions) {
    try {
      if (action === "report") await report("cleaned");
      else if (action === "load_images") await report("images-loaded", { fetched: await loadImages(tabId) });
      else if (action === "sender_off") {
        await setSenderImagesOff(tabs.get(tabId).sender, true);
        await report("sender-off");
      } else if (action === "popup" || action === "popup_keep") {
        fx.keepPopup = action === "popup_keep";
        const shown = new Promise(resolve => testPopup.set(tabId, resolve));
        const { windowId } = await browser.tabs.get(tabId);
        await browser.messageDisplayAction.openPopup({ windowId });
        const popup = await within(shown, 10000, "the popup");
        testPopup.delete(tabId);
        await testReport({ fixture: fx.name, phase: "popup", popup, button: await buttonFacts(tabId) });
      } else if (action === "popup_tab") {
        // Screenshots: Xvfb does not paint popup panels, so the popup page (for this message
        // tab) is shown in a tab of its own for a moment; the screenshot script places it where
        // the panel opens.
        await report("cleaned");
        await sleep(1500);
        const tab = await browser.tabs.create({ url: browser.runtime.getURL(`popup.html?tabId=${tabId}`) });
        await sleep(1500);
        await testReport({ fixture: fx.name, phase: "popup-tab" });
        await sleep(2500);
        await browser.tabs.remove(tab.id);
      } else if (action.startsWith("wait:")) await sleep(Number(action.slice(5)));
    } catch (e) {
      await testReport({ fixture: fx.name, phase: action + "-failed", error: String((e && e.message) || e) });
    }
  }
  fx.resolve();
}

async function testOpen(fx) {
  const finished = new Promise(resolve => (fx.resolve = resolve));
  const opener = fx.arrive ? testArrive(fx) : { file: fixtureFile(fx) };
  const how = await opener;
  const tab = await browser.messageDisplay.open({ ...how, location: "tab", active: true });
  testTabs.set(tab.id, { name: fx.name, actions: fx.actions || ["report"], resolve: fx.resolve });
  await testReport({ fixture: fx.name, phase: "opening", tabId: tab.id });
  await within(finished, 25000, fx.name);
  if (fx.close) await browser.tabs.remove(tab.id);
}

async function testArrive(fx) {
  // The fixture arrives in Local Folders as new mail; onNewMailReceived fetches its images.
  const accounts = await browser.accounts.list();
  const local = accounts.find(a => a.type === "local" || a.type === "none");
  if (!local) throw new Error("no Local Folders account in the test profile");
  const [inbox] = await browser.folders.query({ accountId: local.id, name: "Inbox" });
  if (!inbox) throw new Error("no Local Folders/Inbox in the test profile");
  const headerMessageId = fx.message_id;
  const arrived = new Promise(resolve => testArrivals.set(headerMessageId, resolve));
  await browser.messages.import(fixtureFile(fx), inbox.id, { new: true });
  const result = await within(arrived, 20000, `the arrival of ${fx.name}`);
  testArrivals.delete(headerMessageId);
  await testReport({ fixture: fx.name, phase: "arrived", prefetch: result });
  if (fx.delay_open) await sleep(fx.delay_open);
  return { messageId: result.messageId };
}

async function testFillOptions(values, hold) {
  // The real options page, filled in through its form; it saves by itself (autosave).
  const saved = new Promise(resolve => (testOptions = { values, resolve }));
  const tab = await browser.tabs.create({ url: browser.runtime.getURL("options.html") });
  let status;
  try {
    status = await within(saved, 15000, "the options page");
    if (hold) {
      await testReport({ fixture: "options", phase: "options-holding" });
      await sleep(hold); // screenshots: the page stays on screen a moment
    }
  } finally {
    testOptions = null;
    await browser.tabs.remove(tab.id);
  }
  const stored = await browser.storage.local.get(Object.keys(DEFAULTS));
  await testReport({ fixture: "options", phase: "options-saved", stored, status });
}

async function testBreakHost() {
  // The host removes its own launcher and exits: from now on it cannot start, as if it had
  // never been installed. The test's loopback report server takes the reports.
  const gone = new Promise(resolve => port.onDisconnect.addListener(resolve));
  await request({ type: "test_break" }).catch(() => {});
  await within(gone, 10000, "the helper to exit");
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
  for (const [id, fixture] of Object.entries(testOpenTabs || {}))
    testTabs.set(Number(id), { ...fixture, resolve: () => {} });
  if (testOpenTabs) await browser.storage.local.remove("testOpenTabs");
}

async function runTestPlan(plan) {
  // An event page can wake up again later: run the plan once per test run.
  const { testRunDone } = await browser.storage.local.get("testRunDone");
  if (plan.run_id && testRunDone === plan.run_id) return;
  await browser.storage.local.set({ testRunDone: plan.run_id || "" });
  if (plan.prefs && Object.keys(plan.prefs).length) await browser.storage.local.set(plan.prefs);
  testReportUrl = plan.report_url || null;
  for (const step of plan.steps || []) {
    try {
      if (step.options) await testFillOptions(step.options, step.hold);
      else if (step.break_host) await testBreakHost();
      else if (step.host_status) await testReport({ fixture: "host", phase: "host-status", status: await hostStatus() });
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
    console.warn("tracker-block:", e.message);
  }
  if (helloReply && helloReply.test) await restoreTestTabs();
  if (registered) await cleanAlreadyOpenMessages();
  if (helloReply && helloReply.test) await runTestPlan(helloReply.test);
}

start().catch(e => console.error("tracker-block start-up failed", e));
