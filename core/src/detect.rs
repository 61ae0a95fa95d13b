//! Verdicts: is this remote URL a tracker, a tracking link, or content? Rules first, then heuristics.
use std::sync::{Arc, Mutex};

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::filterlist::kind_bit;
use crate::heuristics::{self as h, Identity};
use crate::psl::Psl;
use crate::rules::{Judge, RuleHit, Use};
use crate::urls::{absolute_cow, parts, Parts};

/// One verdict on one URL: what a report shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub tracker: bool,
    /// "rule:<vendor>/<use>", "list:<list>/<filter>" or "heuristic:<signal>+<signal>"
    pub reason: String,
    /// "rule" | "list" | "heuristic"
    pub certainty: &'static str,
    /// who put it there, when known
    pub company: Option<String>,
    /// open | click | content
    pub use_: &'static str,
}

/// Vendors whose hosts exist to track or to serve ads: a full-size image from them is an ad
/// creative or an impression, never the sender's own content, so association does not excuse it.
const TRACKING_ONLY_CATEGORIES: [&str; 4] = ["advertising", "analytics", "personal-tracker", "sales-tracker"];

/// The rule names the whole host, not a path: the URL itself must still be judged.
fn names_whole_host(rule: &RuleHit) -> bool {
    rule.rule_id.ends_with("/host")
}

/// What a load's URL alone says: the rule verdict, the recipient's identity, URL-only signals.
struct LoadFacts {
    host: String,
    target: String,
    rule: Option<RuleHit>,
    who: Option<String>,
    signals: Vec<&'static str>,
}

/// Judges URLs for one message: knows the rules, the recipient and how images are used.
pub struct Detector {
    pub judge: Arc<Judge>,
    pub identity: Arc<Identity>,
    /// The From address's registrable domain: its click./email./t. subdomains are a signal.
    pub sender_domain: Option<String>,
    /// How often each image URL (absolute) is used in the document, and which are shown at a real size.
    pub count: HashMap<String, u32>,
    pub visible: HashSet<String>,
    /// What each URL alone says, worked out once: the visibility step asks whether an image's
    /// verdict is settled before the image is judged, and mail repeats its image URLs.
    facts: Mutex<HashMap<String, Arc<LoadFacts>>>,
}

impl Detector {
    pub fn new(judge: Arc<Judge>, identity: Arc<Identity>, sender_domain: Option<&str>) -> Detector {
        let sender_domain = sender_domain.map(|s| judge.psl.registrable_domain(s));
        Detector { judge, identity, sender_domain, count: HashMap::default(), visible: HashSet::default(),
                   facts: Mutex::new(HashMap::default()) }
    }

    fn rule_verdict(&self, rule: &RuleHit, host: &str, use_: &'static str) -> Verdict {
        let (id, name, _) = self.judge.owner_name(rule.owner, host);
        let certainty = if id.starts_with("list-") { "list" } else { "rule" };
        Verdict { tracker: true, reason: rule.rule_id.clone(), certainty, company: Some(name), use_ }
    }

    fn company(&self, host: &str) -> String {
        match self.judge.vendor_for_host(host) {
            Some(v) => self.judge.vendors[v].name.clone(),
            None => self.judge.psl.registrable_domain(host),
        }
    }

    fn load_facts(&self, url: &str) -> Arc<LoadFacts> {
        if let Some(f) = self.facts.lock().ok().and_then(|m| m.get(url).cloned()) {
            return f;
        }
        let f = Arc::new(self.work_out_facts(url));
        if let Ok(mut m) = self.facts.lock() {
            m.insert(url.to_owned(), f.clone());
        }
        f
    }

    fn work_out_facts(&self, url: &str) -> LoadFacts {
        let p = parts(url);
        let rule = self.judge.match_load(&p.host, &p.target, kind_bit("image").unwrap_or(1));
        let who = self.identity.find(url).map(str::to_owned);
        let mut signals = Vec::new();
        if who.is_none() && rule.as_ref().is_none_or(names_whole_host) {
            signals = h::path_signals(&p.target);
            if self.judge.generic_open(&p.target) {
                signals.insert(0, "generic-rule");
            }
        }
        LoadFacts { host: p.host, target: p.target, rule, who, signals }
    }

    /// Verdict for something fetched automatically; None means content (or unknown: fail open).
    pub fn load(&self, url: &str, width: Option<f64>, height: Option<f64>, hidden: bool) -> Option<Verdict> {
        let facts = self.load_facts(url);
        let LoadFacts { host, target, rule, who, signals } = &*facts;
        if let Some(r) = rule.as_ref().filter(|r| r.use_ == Use::Open) {
            if who.is_none() && signals.is_empty() && names_whole_host(r) {
                let (_, _, category) = self.judge.owner_name(r.owner, host);
                if !TRACKING_ONLY_CATEGORIES.contains(&category.as_str())
                    && same_for_everyone(target, width, height, hidden)
                {
                    return None; // not guilty by association: this URL tells the host nothing per reader
                }
            }
            return Some(self.rule_verdict(r, host, "open"));
        }
        if let Some(who) = who {
            let company = match rule {
                Some(r) => self.judge.owner_name(r.owner, host).1,
                None => self.company(host),
            };
            return Some(Verdict { tracker: true, reason: format!("heuristic:recipient-id-{who}"),
                                  certainty: "heuristic", company: Some(company), use_: "open" });
        }
        if let Some(r) = rule {
            if r.use_ == Use::Content {
                return None;
            }
            return Some(self.rule_verdict(r, host, "open"));
        }
        let mut signals = signals.clone();
        if let Some(sender) = self.sender_domain.as_deref() {
            if sender_subdomain(&self.judge.psl, host, sender) {
                signals.push("tracking-subdomain");
            }
        }
        let key = absolute_cow(url);
        let seen_visible = self.visible.contains(key.as_ref());
        let size = h::size_signal(width, height);
        if let Some(size) = size.filter(|_| !seen_visible) {
            let spacer = self.count.get(key.as_ref()).copied().unwrap_or(0) >= 3 || h::is_spacer_name(target)
                || self.judge.spacer(target);
            if !spacer {
                signals.push(size);
            }
        }
        if hidden && !seen_visible {
            signals.push("hidden-image");
        }
        if h::score(signals.iter().copied()) >= h::BLOCK_SCORE {
            return Some(Verdict { tracker: true, reason: format!("heuristic:{}", signals.join("+")),
                                  certainty: "heuristic", company: Some(self.company(host)), use_: "open" });
        }
        None
    }

    /// Is this load's verdict fixed by its URL alone (a path rule, the recipient's identity, or URL
    /// signals that block on their own), so that how the image is drawn cannot change it?
    pub fn settled(&self, url: &str) -> bool {
        let f = self.load_facts(url);
        f.who.is_some() || f.rule.as_ref().is_some_and(|r| !names_whole_host(r))
            || h::score(f.signals.iter().copied()) >= h::BLOCK_SCORE
    }

    /// Verdict for a link: click tracking by rule, or the recipient's identity in it.
    pub fn link(&self, url: &str) -> Option<Verdict> {
        link_verdict(&self.judge, &self.identity, url)
    }

    /// `link`, given the URL's `parts` (the link cleaner has read them already).
    pub fn link_with(&self, url: &str, p: &Parts) -> Option<Verdict> {
        link_verdict_from(&self.judge, &self.identity, url, p)
    }
}

/// Verdict for a link (no per-message state needed).
pub fn link_verdict(judge: &Judge, identity: &Identity, url: &str) -> Option<Verdict> {
    link_verdict_from(judge, identity, url, &parts(url))
}

fn link_verdict_from(judge: &Judge, identity: &Identity, url: &str, p: &Parts) -> Option<Verdict> {
    let who = identity.find(url);
    let rule = judge.match_click(&p.host, &p.target);
    if let Some(who) = who {
        let company = match &rule {
            Some(r) => judge.owner_name(r.owner, &p.host).1,
            None => match judge.vendor_for_host(&p.host) {
                Some(v) => judge.vendors[v].name.clone(),
                None => judge.psl.registrable_domain(&p.host),
            },
        };
        return Some(Verdict { tracker: true, reason: format!("heuristic:recipient-id-{who}"), certainty: "heuristic",
                              company: Some(company), use_: "click" });
    }
    let r = rule?;
    let (id, name, _) = judge.owner_name(r.owner, &p.host);
    let certainty = if id.starts_with("list-") { "list" } else { "rule" };
    Some(Verdict { tracker: true, reason: r.rule_id, certainty, company: Some(name), use_: "click" })
}

/// ``h::tracking_subdomain`` of `host` for the sender: the public-suffix look-up (a third of an
/// unknown image's verdict when the sender is known) runs only for a host whose first label is a
/// tracking one, which ``tracking_subdomain`` requires anyway.
fn sender_subdomain(psl: &Psl, host: &str, sender: &str) -> bool {
    h::tracking_label(host) && h::tracking_subdomain(host, Some(sender), &psl.registrable_domain(host))
}

/// A shown, real-size image file with no query: every recipient fetches the same URL, so a host
/// named as a whole (``tracking_hosts``, ``||host^``) does not make it a tracker.
fn same_for_everyone(target: &str, width: Option<f64>, height: Option<f64>, hidden: bool) -> bool {
    if target.contains('?') || hidden || h::size_signal(width, height) == Some("tiny-image") {
        return false;
    }
    content_file(target)
}

/// ``/[^/]+\.(?:png|jpe?g|gif|webp|avif|svg)$`` (case-insensitive) on the path.
fn content_file(path: &str) -> bool {
    let Some(slash) = path.rfind('/') else { return false };
    let name = &path[slash + 1..];
    let Some(dot) = name.rfind('.') else { return false };
    if dot == 0 {
        return false; // "/.png": the name before the extension is empty
    }
    matches!(name[dot + 1..].to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg" | "gif" | "webp" | "avif" | "svg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_check_first_changes_no_subdomain_answer() {
        let psl = Psl::from_text("com\norg\nnet\nio\nuk\nco.uk\n*.ck\n!www.ck\nexample\n");
        let mut hosts: Vec<String> = crate::judge_corpus::urls().iter().map(|u| crate::urls::parts(u).host).collect();
        let mut rng = crate::testrand::XorShift(0x5ed);
        for _ in 0..20_000 {
            let labels = ["click", "email", "t", "www", "news", "brand", "co", "uk", "com", "example", "", "xn--bcher-kva", "T", "Click"];
            let n = 1 + rng.below(5);
            hosts.push((0..n).map(|_| labels[rng.below(labels.len())]).collect::<Vec<_>>().join("."));
        }
        let mut senders: Vec<String> = hosts.iter().step_by(97).map(|h| psl.registrable_domain(h)).collect();
        senders.extend(["brand.com", "brand.co.uk", "example.org", ""].map(String::from));
        let mut yes = 0;
        for host in &hosts {
            for sender in senders.iter().filter(|s| host.ends_with(s.as_str())).chain(senders.iter().take(3)) {
                let fast = sender_subdomain(&psl, host, sender);
                assert_eq!(fast, h::tracking_subdomain(host, Some(sender), &psl.registrable_domain(host)), "{host} {sender}");
                yes += fast as usize;
            }
        }
        assert!(yes > 1000, "{yes}");
    }
}
