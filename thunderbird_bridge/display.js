/* tracker-block Thunderbird bridge: message display script.
 *
 * Runs in every displayed message. banner.css keeps the body hidden until this script has
 * replaced it with the host's cleaned copy. The *rendered* DOM is cleaned (not the raw MIME
 * part) because Thunderbird has already rewritten cid: images to mailbox: part URLs there.
 */
"use strict";

(() => {
  if (window.__trackerBlock) return; // injected twice (registered + executeScript): run once
  window.__trackerBlock = true;

  const DONE = "tracker-block-done";
  const state = { reply: null, remoteAlready: false, alwaysDone: null };

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
  // loading, or loaded, means remote content was allowed. Load events are watched from
  // document_start too. Either way the banner warns.
  let cleaned = false;
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
    if (state.remoteAlready) return;
    state.remoteAlready = true;
    const banner = document.getElementById("tracker-block-banner");
    if (banner && !banner.querySelector(".tb-warning")) banner.append(remoteWarning());
  }

  function remoteWarning() {
    return el("div", "tb-warning",
      "Remote content was allowed for this message, so trackers may already have fired before tracker-block removed them.");
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

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function describe(f) {
    const who = f.tracker ? `${f.tracker}: ` : "";
    const url = f.url ? ` — ${f.url.length > 120 ? f.url.slice(0, 119) + "…" : f.url}` : "";
    return `${who}${f.action} ${f.kind} (${f.where}; ${f.reason})${url}`;
  }

  function markIdentifyingLinks(findings) {
    const urls = new Set();
    for (const f of findings) {
      if (!String(f.reason || "").startsWith("heuristic:recipient")) continue;
      if (f.url) urls.add(f.url);
      if (f.detail && /^https?:/i.test(f.detail)) urls.add(f.detail);
    }
    if (!urls.size) return 0;
    let n = 0;
    for (const a of document.querySelectorAll("a[href]")) {
      if (!urls.has(a.getAttribute("href")) && !urls.has(a.href)) continue;
      const mark = el("span", "tb-identifies", "this link identifies you");
      mark.title = "This link carries your address or an id for you: opening it tells the sender you read the message.";
      a.after(mark);
      n++;
    }
    return n;
  }

  function buildBanner(reply, error) {
    const banner = el("div", "tb-banner");
    banner.id = "tracker-block-banner";
    banner.setAttribute("role", "status");
    const row = el("div", "tb-row");
    banner.append(row);
    if (error) {
      banner.classList.add("tb-error");
      row.append(el("span", "tb-summary",
        `tracker-block could not check this message (${error}). Thunderbird's remote-content blocking still applies.`));
      return banner;
    }
    row.append(el("span", "tb-summary", reply.banner));
    if (reply.untouched) {
      // A trusted sender (options page): shown as sent. Thunderbird's blocking still applies.
      banner.classList.add("tb-untouched");
      return banner;
    }
    const findings = reply.findings || [];
    if (findings.length) {
      const list = el("ul", "tb-details");
      list.hidden = true;
      for (const f of findings) list.append(el("li", null, describe(f)));
      const toggle = el("button", "tb-toggle", "Details");
      toggle.type = "button";
      toggle.addEventListener("click", () => {
        list.hidden = !list.hidden;
        toggle.textContent = list.hidden ? "Details" : "Hide details";
      });
      row.append(toggle);
      banner.append(list);
    }
    if (reply.remoteImages > 0 && reply.safeImagesPolicy !== "never") {
      const safe = el("button", "tb-safe", `Show safe images (${reply.remoteImages})`);
      safe.type = "button";
      safe.addEventListener("click", () => showSafeImages());
      row.append(safe);
      if (reply.safeImagesPolicy === "per-sender" && reply.sender) {
        const always = el("button", "tb-safe-sender", `Always for ${reply.sender}`);
        always.type = "button";
        always.addEventListener("click", () => {
          state.alwaysDone = (async () => {
            await browser.runtime.sendMessage({ type: "alwaysSafeImages", sender: reply.sender });
            always.remove();
            return showSafeImages();
          })();
        });
        row.append(always);
      }
    }
    if (state.remoteAlready) banner.append(remoteWarning());
    return banner;
  }

  async function showSafeImages() {
    const reply = state.reply;
    if (!reply || !reply.token) return { images: 0, error: "message was not cleaned" };
    const imgs = Array.from(document.images).filter(i => /^https?:/i.test(i.getAttribute("src") || ""));
    if (!imgs.length) return { images: 0 };
    const urls = [...new Set(imgs.map(i => i.getAttribute("src")))];
    const res = await browser.runtime.sendMessage({ type: "fetchImages", token: reply.token, urls });
    let shown = 0;
    for (const img of imgs) {
      const data = res.images[img.getAttribute("src")];
      if (data) {
        img.setAttribute("src", data);
        img.removeAttribute("srcset");
        shown++;
      }
    }
    for (const b of document.querySelectorAll("#tracker-block-banner .tb-safe, #tracker-block-banner .tb-safe-sender")) b.remove();
    return { images: shown, errors: res.errors };
  }

  // ------------------------------------------------------------ test mode hooks
  function settle(img, ms) {
    if (img.complete) return Promise.resolve();
    return new Promise(r => {
      img.addEventListener("load", r, { once: true });
      img.addEventListener("error", r, { once: true });
      setTimeout(r, ms);
    });
  }

  function messageHtml() {
    const copy = document.body.cloneNode(true);
    for (const e of copy.querySelectorAll("#tracker-block-banner, .tb-identifies")) e.remove();
    return copy.innerHTML;
  }

  async function facts(phase, extra) {
    await Promise.all(Array.from(document.images).map(i => settle(i, 3000)));
    const banner = document.getElementById("tracker-block-banner");
    const shortSrc = s => (s.startsWith("data:") ? `${s.slice(0, s.indexOf(",") + 1)}…(${s.length})` : s);
    return {
      phase,
      ...extra,
      url: location.href,
      banner: banner ? banner.querySelector(".tb-summary").textContent : null,
      error: !!(banner && banner.classList.contains("tb-error")),
      untouched: !!(banner && banner.classList.contains("tb-untouched")),
      buttons: banner ? Array.from(banner.querySelectorAll("button"), b => b.textContent) : [],
      details: banner ? Array.from(banner.querySelectorAll(".tb-details li"), li => li.textContent) : [],
      warning: !!(banner && banner.querySelector(".tb-warning")),
      bodyVisibility: getComputedStyle(document.body).visibility,
      images: Array.from(document.images, i => ({
        src: shortSrc(i.getAttribute("src") || ""),
        complete: i.complete,
        naturalWidth: i.naturalWidth,
      })),
      identifyMarkers: document.querySelectorAll(".tb-identifies").length,
      links: Array.from(document.querySelectorAll("a[href]"), a => a.getAttribute("href")),
      bodyLength: document.body.innerHTML.length,
      html: messageHtml().slice(0, 20000),
    };
  }

  async function runTest(test) {
    const report = r => browser.runtime.sendMessage({
      type: "testReport",
      report: { fixture: test.name, injectedAfterStart: test.injectedAfterStart, ...r },
    });
    for (const action of test.actions) {
      try {
        if (action === "report") await report(await facts("cleaned"));
        else if (action === "show_safe_images") {
          const res = await showSafeImages();
          await report(await facts("safe-images", { fetched: res }));
        } else if (action === "always_for_sender") {
          // Click "Always for <sender>" like the user would.
          const button = document.querySelector("#tracker-block-banner .tb-safe-sender");
          if (!button) throw new Error("no 'Always for' button");
          button.click();
          const res = await state.alwaysDone;
          await report(await facts("always-for-sender", { fetched: res }));
        }
      } catch (e) {
        await report({ phase: action + "-failed", error: String((e && e.message) || e) });
      }
    }
    await browser.runtime.sendMessage({ type: "testDone" });
  }

  // ------------------------------------------------------------ main
  async function run() {
    await domReady();
    let reply;
    try {
      reply = await browser.runtime.sendMessage({ type: "clean", html: serialize() });
    } catch (e) {
      reply = { error: String((e && e.message) || e) };
    }
    if (reply.error) {
      // Fail open: Thunderbird's own remote-content blocking still protects this message.
      document.body.prepend(buildBanner(null, reply.error));
      reveal();
      if (reply.test) await runTest(reply.test);
      return;
    }
    state.reply = reply;
    if (reply.untouched) {
      document.body.prepend(buildBanner(reply));
      reveal();
      if (reply.test) await runTest(reply.test);
      return;
    }
    checkRemoteLoads();
    cleaned = true;
    apply(reply.html);
    const banner = buildBanner(reply);
    document.body.prepend(banner);
    markIdentifyingLinks(reply.findings || []);
    reveal();
    if (reply.autoSafeImages && reply.remoteImages > 0) await showSafeImages();
    if (reply.test) await runTest(reply.test);
  }

  run().catch(e => {
    reveal();
    browser.runtime.sendMessage({ type: "log", level: "error", message: String(e && e.stack || e) }).catch(() => {});
  });
})();
