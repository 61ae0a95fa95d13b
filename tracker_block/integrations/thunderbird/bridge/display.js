/* tracker-block Thunderbird bridge: message display script.
 *
 * Runs in every displayed message. display.css keeps the body hidden until this script has
 * replaced it with the host's cleaned copy. The *rendered* DOM is cleaned (not the raw MIME
 * part) because Thunderbird has already rewritten cid: images to mailbox: part URLs there.
 *
 * This script draws no banner: what tracker-block found is shown by the button in the message
 * header (background.js), outside the message, where the sender's CSS cannot hide or fake it.
 * The only thing added to the message is a ⚑ after each link that still tracks if clicked, in a
 * closed shadow root with inline !important styles, so the message's CSS cannot restyle it.
 */
"use strict";

(() => {
  if (window.__trackerBlock) return; // injected twice (registered + executeScript): run once
  window.__trackerBlock = true;

  const DONE = "tracker-block-done";
  const marks = []; // the ⚑ marks this script added
  let cleaned = false;
  let remoteAlready = false;

  function domReady() {
    if (document.readyState !== "loading") return Promise.resolve();
    return new Promise(r => document.addEventListener("DOMContentLoaded", r, { once: true }));
  }

  function reveal() {
    document.documentElement.classList.add(DONE);
  }

  // Remote loads before cleaning can only happen if the user allowed remote content for this
  // message: Thunderbird starts them before any extension script can stop them. With its
  // blocking on, a remote <img> is refused at once (complete, naturalWidth 0); one that is still
  // loading, or loaded, means remote content was allowed. The button then warns.
  const isRemote = url => /^https?:/i.test(url || "");
  document.addEventListener(
    "load",
    e => {
      const t = e.target;
      if (!cleaned && t && t.tagName === "IMG" && isRemote(t.currentSrc || t.src)) noteRemoteLoad();
    },
    true
  );

  function checkRemoteLoads() {
    for (const img of document.images) {
      if (isRemote(img.currentSrc || img.src) && (!img.complete || img.naturalWidth > 0)) noteRemoteLoad();
    }
  }

  function noteRemoteLoad() {
    if (remoteAlready) return;
    remoteAlready = true;
    browser.runtime.sendMessage({ type: "remoteLoaded" }).catch(() => {});
  }

  function serialize() {
    const styles = Array.from(document.querySelectorAll("head style"))
      .map(s => s.outerHTML)
      .join("\n");
    return `<!DOCTYPE html><html><head>${styles}</head>${document.body.outerHTML}</html>`;
  }

  function apply(html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    for (const s of document.querySelectorAll("head style")) s.remove();
    for (const s of doc.querySelectorAll("style")) {
      if (!doc.body.contains(s)) document.head.appendChild(document.importNode(s, true));
    }
    const body = document.body;
    for (const a of Array.from(body.attributes)) body.removeAttribute(a.name);
    for (const a of Array.from(doc.body.attributes)) body.setAttribute(a.name, a.value);
    body.replaceChildren(...Array.from(doc.body.childNodes).map(n => document.importNode(n, true)));
  }

  const MARK_HOST_STYLE =
    "all: initial !important; display: inline-block !important; visibility: visible !important; " +
    "opacity: 1 !important; position: static !important; width: auto !important; height: auto !important; " +
    "margin: 0 0 0 3px !important; clip-path: none !important; filter: none !important; transform: none !important;";

  function markLeftLinks(urls) {
    // A ⚑ after each link that still tracks if clicked: a hint; the button's popup is the record.
    const left = new Set(urls);
    if (!left.size) return;
    for (const a of document.querySelectorAll("a[href]")) {
      if (!left.has(a.getAttribute("href")) && !left.has(a.href)) continue;
      const host = document.createElement("tracker-block-mark");
      host.setAttribute("style", MARK_HOST_STYLE);
      const root = host.attachShadow({ mode: "closed" });
      const flag = document.createElement("span");
      flag.textContent = "⚑";
      flag.title = "tracker-block: this link still tracks. Opening it tells the sender you clicked.";
      flag.setAttribute("style", "all: initial; font: 12px/1 system-ui, sans-serif; color: #a15c00; cursor: help;");
      root.append(flag);
      a.after(host);
      marks.push(host);
    }
  }

  function showImages(images) {
    let shown = 0;
    for (const img of Array.from(document.images)) {
      const data = images[img.getAttribute("src")];
      if (!data) continue;
      img.setAttribute("src", data);
      img.removeAttribute("srcset");
      shown++;
    }
    return shown;
  }

  // ------------------------------------------------------------ test mode: rendered facts
  function settle(img, ms) {
    if (img.complete) return Promise.resolve();
    return new Promise(r => {
      img.addEventListener("load", r, { once: true });
      img.addEventListener("error", r, { once: true });
      setTimeout(r, ms);
    });
  }

  async function facts() {
    await Promise.all(Array.from(document.images).map(i => settle(i, 3000)));
    const shortSrc = s => (s.startsWith("data:") ? `${s.slice(0, s.indexOf(",") + 1)}…(${s.length})` : s);
    const copy = document.body.cloneNode(true);
    for (const e of copy.querySelectorAll("tracker-block-mark")) e.remove();
    return {
      url: location.href,
      bodyVisibility: getComputedStyle(document.body).visibility,
      images: Array.from(document.images, i => ({
        src: shortSrc(i.getAttribute("src") || ""),
        complete: i.complete,
        naturalWidth: i.naturalWidth,
      })),
      marks: marks.map(m => {
        const r = m.getBoundingClientRect();
        const cs = getComputedStyle(m);
        return { width: r.width, height: r.height, display: cs.display, visibility: cs.visibility, connected: m.isConnected };
      }),
      bannerElements: Array.from(document.querySelectorAll("#tracker-block-banner"), e => ({
        text: e.textContent.trim(),
        display: getComputedStyle(e).display,
        background: getComputedStyle(e).backgroundColor,
      })),
      links: Array.from(document.querySelectorAll("a[href]"), a => a.getAttribute("href")),
      bodyLength: document.body.innerHTML.length,
      html: copy.innerHTML.slice(0, 20000),
    };
  }

  browser.runtime.onMessage.addListener(msg => {
    if (msg.type === "showImages") return Promise.resolve({ shown: showImages(msg.images) });
    if (msg.type === "testFacts") return facts();
    return undefined;
  });

  // ------------------------------------------------------------ main
  async function run() {
    await domReady();
    let reply;
    try {
      reply = await browser.runtime.sendMessage({ type: "clean", html: serialize(), remoteAlready });
    } catch (e) {
      reply = { error: String((e && e.message) || e) };
    }
    // Checked once the host has answered, as before: by then Thunderbird has refused every
    // blocked image, so one still loading or loaded means remote content was allowed.
    checkRemoteLoads();
    if (!reply.error && !reply.untouched) {
      cleaned = true;
      apply(reply.html);
      showImages(reply.cached || {});
      markLeftLinks(reply.leftLinks || []);
    }
    // Errors fail open: the original is shown, Thunderbird's remote-content blocking still
    // protects it, and the button says what happened and what to do.
    reveal();
    await browser.runtime.sendMessage({ type: "rendered", remoteAlready });
  }

  run().catch(e => {
    reveal();
    browser.runtime.sendMessage({ type: "log", level: "error", message: String((e && e.stack) || e) }).catch(() => {});
  });
})();
