/* The header button's popup: what tracker-block found in this message and did about it, by
   company, in the report's words (removed / cleaned / left, marked). Rule ids and URLs only in
   the "Advanced" section. Reads the tab's state from background.js and follows its changes. */
"use strict";

const $ = id => document.getElementById(id);
let tabId = null;
let current = null;

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function shortUrl(u) {
  try {
    const url = new URL(u);
    const file = url.pathname.split("/").filter(Boolean).pop() || "/";
    return `${file} from ${url.hostname}`;
  } catch (e) {
    return u;
  }
}

function headline(s, hostError) {
  if (!s) return ["neutral", hostError ? "tracker-block could not check this message" : "tracker-block has not seen this message"];
  if (s.kind === "pending") return ["neutral", "Checking this message…"];
  if (s.kind === "error") return ["error", "Not checked: tracker-block could not check this message"];
  if (s.kind === "allowlisted") return ["neutral", `Not checked: ${s.sender} is on your list of trusted senders`];
  if (s.remoteAlready) return ["warn", "Remote content was allowed for this message: trackers may already have fired"];
  if (s.status === "clean") return ["ok", "No trackers found"];
  const parts = [];
  if (s.removed) parts.push(plural(s.removed, "tracker removed", "trackers removed"));
  if (s.linksLeft) parts.push(plural(s.linksLeft, "link still tracks if clicked", "links still track if clicked"));
  if (s.summary.links_cleaned && !parts.length) parts.push(plural(s.summary.links_cleaned, "link cleaned", "links cleaned"));
  return ["ok", parts.join(" · ")];
}

function imagesText(s) {
  const im = s.images;
  const total = im.urls.length;
  const shown = im.cached.length + im.fetched.length;
  const missing = total - shown - Object.keys(im.failed).length;
  if (!total) return { text: "No remote images are left in this message." };
  if (im.senderOff)
    return { text: `Images from ${s.sender} are off: ${plural(total, "image", "images")} not loaded.` };
  if (im.policy === "never") return { text: `${plural(total, "image", "images")} not loaded: safe images are off in the options.` };
  const out = [];
  if (im.cached.length) {
    const when = im.arrived
      ? `fetched when the message arrived (${new Date(im.arrived.time).toLocaleString()})`
      : "fetched earlier for another message";
    out.push(`${plural(im.cached.length, "image", "images")} shown from tracker-block's local copy, ${when}. Opening this message told nobody.`);
  }
  if (im.fetched.length) out.push(`${plural(im.fetched.length, "image", "images")} loaded on request.`);
  let load = null;
  if (missing > 0) {
    const why = im.policy === "arrival" ? " (this message was not fetched when it arrived)" : "";
    out.push(`${plural(missing, "image", "images")} not loaded${why}. Loading now lets the sender's image server see when you read it.`);
    load = `Load ${plural(missing, "image", "images")} now`;
  }
  return { text: out.join(" "), load };
}

function render(reply) {
  const s = reply.state;
  current = s;
  const [tone, text] = headline(s, reply.hostError);
  document.body.className = tone;
  $("status").textContent = text;

  const err = $("error");
  err.hidden = !(s && s.kind === "error");
  if (!err.hidden) {
    err.replaceChildren();
    const p = document.createElement("p");
    // The command in the message is shown as code.
    for (const [i, piece] of s.error.split("`").entries()) {
      const node = i % 2 ? document.createElement("code") : document.createTextNode(piece);
      if (i % 2) node.textContent = piece;
      p.append(node);
    }
    const note = document.createElement("p");
    note.textContent = "The message is shown as Thunderbird shows it; Thunderbird still blocks its remote content.";
    err.append(p, note);
  }

  const lines = (s && s.lines) || [];
  $("lines").replaceChildren(...lines.map(ln => {
    const li = document.createElement("li");
    li.textContent = ln.text;
    if (ln.outcome === "left, marked") li.className = "left";
    return li;
  }));
  $("advanced").hidden = !lines.length;
  $("advanced-lines").replaceChildren(...lines.map(ln => {
    const li = document.createElement("li");
    li.textContent = `${ln.text}: ${ln.rules.join(", ")}${ln.urls.length ? " — " + ln.urls.join(" ") : ""}`;
    return li;
  }));

  const checked = s && s.kind === "checked";
  $("images").hidden = !checked;
  $("remote").hidden = !(checked && (s.images.urls.length || s.removed));
  if (checked) {
    const im = s.images;
    const info = imagesText(s);
    $("images-text").textContent = info.text;
    const prog = $("images-progress");
    prog.hidden = !im.progress;
    if (im.progress) {
      prog.max = im.progress.total || 1;
      prog.value = im.progress.done;
      $("images-text").textContent = `Loading images… ${im.progress.done} of ${im.progress.total}`;
    }
    const failed = Object.entries(im.failed);
    $("images-failed").replaceChildren(...failed.map(([u, why]) => {
      const li = document.createElement("li");
      li.textContent = `${shortUrl(u)}: ${why}`;
      li.title = u;
      return li;
    }));
    const load = $("load");
    load.hidden = !info.load || !!im.progress || im.senderOff || im.policy === "never";
    load.textContent = info.load || "";
    $("retry").hidden = !failed.length || !!im.progress;
    const toggle = $("sender-toggle");
    toggle.hidden = !s.sender || !im.urls.length || im.policy === "never";
    toggle.textContent = im.senderOff ? `Load images from ${s.sender} again` : `Never load images from ${s.sender}`;
  }
}

async function refresh() {
  const reply = await browser.runtime.sendMessage({ type: "popupState", tabId });
  render(reply);
  return reply;
}

async function main() {
  const asked = Number(new URLSearchParams(location.search).get("tabId"));
  if (asked) tabId = asked; // the popup page opened for a given message tab (screenshots)
  else {
    const [tab] = await browser.tabs.query({ active: true, currentWindow: true });
    tabId = tab ? tab.id : null;
  }
  $("load").addEventListener("click", () => browser.runtime.sendMessage({ type: "loadImages", tabId }));
  $("retry").addEventListener("click", () =>
    browser.runtime.sendMessage({ type: "loadImages", tabId, urls: Object.keys(current.images.failed) }));
  $("sender-toggle").addEventListener("click", () =>
    browser.runtime.sendMessage({ type: "senderImages", sender: current.sender, off: !current.images.senderOff }));
  $("options").addEventListener("click", e => {
    e.preventDefault();
    browser.runtime.openOptionsPage();
  });
  browser.runtime.onMessage.addListener(msg => {
    if (msg.type === "stateChanged" && msg.tabId === tabId) refresh();
  });
  const reply = await refresh();
  if (reply.test) {
    // Test mode only: report what the reader sees, then close.
    const visible = el => el && !el.hidden && el.getClientRects().length > 0;
    await browser.runtime.sendMessage({
      type: "popupReport",
      tabId,
      report: {
        status: $("status").textContent,
        tone: document.body.className,
        error: visible($("error")) ? $("error").textContent : null,
        lines: Array.from($("lines").children, li => li.textContent),
        images: visible($("images")) ? $("images-text").textContent : null,
        buttons: Array.from(document.querySelectorAll("button"), b => (visible(b) ? b.textContent : null)).filter(Boolean),
        remoteNote: visible($("remote")),
        advanced: Array.from($("advanced-lines").children, li => li.textContent),
      },
    });
    if (!reply.keepOpen) window.close();
  }
}

main();
