//! The compiled rule set (the "judge"): vendors' host and path rules, redirect wrappers, tracking
//! parameters, the generic open-path and spacer patterns, and the filter lists.
//!
//! The rules stay data: Python loads and validates the TOML and filter-list files and hands the
//! sources over once; this module only indexes and matches. A URL's host is looked up label by
//! label (``a.b.list-manage.com`` -> ``b.list-manage.com`` -> ``list-manage.com``) in a map of
//! vendor domains, and only those vendors' few patterns run. Regexes compile on first use, so
//! start-up pays only for the vendors a message touches.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::{Arc, OnceLock};

use regex::{Regex, RegexBuilder};

use crate::filterlist::{suffixes, Filter, FilterIndex};
use crate::psl::Psl;

/// A regex compiled on first use (case-insensitive, as every rule pattern is).
pub struct LazyRegex {
    pub source: String,
    cell: OnceLock<Result<Regex, String>>,
}

impl LazyRegex {
    pub fn new(source: String) -> LazyRegex {
        LazyRegex { source, cell: OnceLock::new() }
    }

    /// ``fullmatch`` semantics: the whole text must match.
    fn full(source: &str) -> LazyRegex {
        LazyRegex::new(format!(r"\A(?:{source})\z"))
    }

    pub fn get(&self) -> Result<&Regex, &str> {
        self.cell
            .get_or_init(|| {
                RegexBuilder::new(&self.source).case_insensitive(true).size_limit(1 << 26).build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| e.as_str())
    }

    /// A pattern that does not compile never matches (``Judge::problems`` reports it).
    pub fn is_match(&self, text: &str) -> bool {
        self.get().is_ok_and(|rx| rx.is_match(text))
    }
}

fn union(patterns: &[String]) -> Option<LazyRegex> {
    if patterns.is_empty() {
        return None;
    }
    Some(LazyRegex::new(patterns.iter().map(|p| format!("(?:{p})")).collect::<Vec<_>>().join("|")))
}

pub struct Vendor {
    pub id: String,
    pub name: String,
    pub category: String,
    open: Option<LazyRegex>,
    click: Option<LazyRegex>,
    content: Option<LazyRegex>,
}

/// Input for one vendor: id, name, category, open/click/content patterns, domains, tracking hosts.
pub struct VendorInput {
    pub id: String,
    pub name: String,
    pub category: String,
    pub open: Vec<String>,
    pub click: Vec<String>,
    pub content: Vec<String>,
    pub domains: Vec<String>,
    pub tracking_hosts: Vec<String>,
}

pub struct Redirect {
    pub id: String,
    matcher: LazyRegex,
    param: String,
    extract: Option<LazyRegex>,
    pub decode: String,
}

pub struct RedirectInput {
    pub id: String,
    pub domains: Vec<String>,
    pub matcher: String,
    pub param: String,
    pub extract: Option<String>,
    pub decode: String,
}

struct Param {
    hosts: Vec<String>,
    pattern: Option<LazyRegex>, // fullmatch
    keep_if_url: Option<LazyRegex>,
}

pub struct ParamInput {
    pub name: Option<String>,
    pub pattern: Option<String>,
    pub hosts: Vec<String>,
    pub keep_if_url: Option<String>,
}

/// Who a rule verdict names: a curated vendor, or only a filter list (the host's domain is a guess).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Vendor(usize),
    List(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    Open,
    Click,
    Content,
}

impl Use {
    pub fn as_str(self) -> &'static str {
        match self {
            Use::Open => "open",
            Use::Click => "click",
            Use::Content => "content",
        }
    }
}

/// A rule verdict: who, the rule id a report cites, and how the URL is used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleHit {
    pub owner: Owner,
    pub rule_id: String,
    pub use_: Use,
}

/// Input for the whole judge (what Python's rules.py loaded and validated).
pub struct JudgeInput {
    pub vendors: Vec<VendorInput>,
    pub redirects: Vec<RedirectInput>,
    pub params: Vec<ParamInput>,
    pub exempt_hosts: Vec<String>,
    pub generic_open: Vec<String>,
    pub spacer: Vec<String>,
}

pub struct Judge {
    pub vendors: Vec<Vendor>,
    by_domain: HashMap<String, Vec<usize>>,
    tracking_host: HashMap<String, usize>,
    pub redirects: Vec<Redirect>,
    redirect_by_domain: HashMap<String, Vec<usize>>,
    params: Vec<Param>,
    param_exact: HashMap<String, Vec<usize>>,
    param_patterns: Vec<usize>,
    param_scoped: HashMap<String, Vec<usize>>,
    exempt: HashSet<String>,
    generic_open: Option<LazyRegex>,
    spacer: Option<LazyRegex>,
    pub filters: Arc<FilterIndex>,
    pub psl: Arc<Psl>,
}

/// The verdict of one parameter name on a host, before the rest of the URL is looked at.
enum ParamVerdict<'a> {
    Fixed(bool),
    UnlessAll(Vec<&'a LazyRegex>),
}

/// The parameter rules of one host: its suffixes, whether it is exempt, the patterns in force.
pub struct HostParams<'a> {
    judge: &'a Judge,
    hosts: Vec<&'a str>,
    exempt: bool,
    patterns: Vec<&'a Param>,
}

impl HostParams<'_> {
    fn verdict(&self, low: &str) -> ParamVerdict<'_> {
        if self.exempt {
            return ParamVerdict::Fixed(false);
        }
        let fits = |p: &Param| p.pattern.as_ref().is_some_and(|rx| rx.is_match(low));
        if self.patterns.iter().any(|p| p.keep_if_url.is_none() && fits(p)) {
            return ParamVerdict::Fixed(true);
        }
        let j = self.judge;
        let mut cands: Vec<&Param> = j.param_exact.get(low).into_iter().flatten().map(|&i| &j.params[i])
            .filter(|p| p.hosts.is_empty() || self.hosts.iter().any(|s| p.hosts.iter().any(|h| h == s)))
            .collect();
        cands.extend(self.patterns.iter().filter(|p| p.keep_if_url.is_some() && fits(p)));
        if cands.is_empty() {
            return ParamVerdict::Fixed(false);
        }
        if cands.iter().any(|p| p.keep_if_url.is_none()) {
            return ParamVerdict::Fixed(true);
        }
        ParamVerdict::UnlessAll(cands.iter().filter_map(|p| p.keep_if_url.as_ref()).collect())
    }

    /// Is parameter ``name`` of ``url`` (on this host) a tracking parameter?
    pub fn is_tracking(&self, name: &str, url: &str) -> bool {
        match self.verdict(&name.to_lowercase()) {
            ParamVerdict::Fixed(b) => b,
            // tracking unless every candidate rule's exception covers the URL
            ParamVerdict::UnlessAll(keeps) => keeps.iter().any(|k| !k.is_match(url)),
        }
    }
}

impl Judge {
    pub fn build(input: JudgeInput, filters: Arc<FilterIndex>, psl: Arc<Psl>) -> Judge {
        let mut j = Judge {
            vendors: Vec::new(), by_domain: HashMap::default(), tracking_host: HashMap::default(), redirects: Vec::new(),
            redirect_by_domain: HashMap::default(), params: Vec::new(), param_exact: HashMap::default(),
            param_patterns: Vec::new(), param_scoped: HashMap::default(),
            exempt: input.exempt_hosts.iter().map(|h| h.to_lowercase()).collect(),
            generic_open: union(&input.generic_open), spacer: union(&input.spacer), filters, psl,
        };
        for v in input.vendors {
            let i = j.vendors.len();
            let mut keys: Vec<&String> = v.domains.iter().chain(v.tracking_hosts.iter()).collect();
            keys.sort();
            keys.dedup();
            for d in keys {
                j.by_domain.entry(d.clone()).or_default().push(i);
            }
            for h in &v.tracking_hosts {
                j.tracking_host.insert(h.clone(), i);
            }
            j.vendors.push(Vendor { id: v.id, name: v.name, category: v.category, open: union(&v.open),
                                    click: union(&v.click), content: union(&v.content) });
        }
        for r in input.redirects {
            let i = j.redirects.len();
            for d in &r.domains {
                j.redirect_by_domain.entry(d.clone()).or_default().push(i);
            }
            j.redirects.push(Redirect { id: r.id, matcher: LazyRegex::new(r.matcher), param: r.param,
                                        extract: r.extract.map(LazyRegex::new), decode: r.decode });
        }
        for p in input.params {
            let i = j.params.len();
            if let Some(name) = &p.name {
                j.param_exact.entry(name.to_lowercase()).or_default().push(i);
            } else if !p.hosts.is_empty() {
                for h in &p.hosts {
                    j.param_scoped.entry(h.clone()).or_default().push(i);
                }
            } else {
                j.param_patterns.push(i);
            }
            j.params.push(Param {
                hosts: p.hosts,
                pattern: if p.name.is_some() { None } else { p.pattern.as_deref().map(LazyRegex::full) },
                keep_if_url: p.keep_if_url.map(LazyRegex::new),
            });
        }
        j
    }

    /// Compile every pattern now; the problems found (empty when all compile).
    pub fn problems(&self) -> Vec<String> {
        let mut pats: Vec<&LazyRegex> = Vec::new();
        for v in &self.vendors {
            pats.extend([&v.open, &v.click, &v.content].into_iter().flatten());
        }
        for r in &self.redirects {
            pats.push(&r.matcher);
            pats.extend(r.extract.iter());
        }
        for p in &self.params {
            pats.extend([&p.pattern, &p.keep_if_url].into_iter().flatten());
        }
        pats.extend([&self.generic_open, &self.spacer].into_iter().flatten());
        pats.into_iter().filter_map(|p| p.get().err().map(|e| format!("{}: {e}", p.source))).collect()
    }

    /// Vendors whose domains or tracking hosts cover ``host``, most specific suffix first.
    pub fn candidates<'a>(&'a self, host: &'a str) -> impl Iterator<Item = usize> + 'a {
        suffixes(host).flat_map(move |s| self.by_domain.get(s).into_iter().flatten().copied())
    }

    /// The vendor owning a host, if any (for attributing heuristic and list findings).
    pub fn vendor_for_host(&self, host: &str) -> Option<usize> {
        self.candidates(host).next()
    }

    /// Is a remote load (image, CSS url, …) a known tracker, or known content of a tracker vendor?
    pub fn match_load(&self, host: &str, target: &str, kind: u16) -> Option<RuleHit> {
        for i in self.candidates(host) {
            let v = &self.vendors[i];
            if v.content.as_ref().is_some_and(|rx| rx.is_match(target)) {
                return Some(RuleHit { owner: Owner::Vendor(i), rule_id: format!("rule:{}/content", v.id), use_: Use::Content });
            }
            if v.open.as_ref().is_some_and(|rx| rx.is_match(target)) {
                return Some(RuleHit { owner: Owner::Vendor(i), rule_id: format!("rule:{}/open", v.id), use_: Use::Open });
            }
            if suffixes(host).any(|s| self.tracking_host.get(s) == Some(&i)) {
                return Some(RuleHit { owner: Owner::Vendor(i), rule_id: format!("rule:{}/host", v.id), use_: Use::Open });
            }
        }
        self.match_list(host, target, kind, Use::Open)
    }

    /// Is a link a known click-tracking URL?
    pub fn match_click(&self, host: &str, target: &str) -> Option<RuleHit> {
        for i in self.candidates(host) {
            let v = &self.vendors[i];
            if v.click.as_ref().is_some_and(|rx| rx.is_match(target)) {
                return Some(RuleHit { owner: Owner::Vendor(i), rule_id: format!("rule:{}/click", v.id), use_: Use::Click });
            }
        }
        self.match_list(host, target, crate::filterlist::LINK, Use::Click)
    }

    /// A filter-list hit, named after the vendor owning the host when there is one.
    fn match_list(&self, host: &str, target: &str, kind: u16, use_: Use) -> Option<RuleHit> {
        let f = self.filters.find_target(target, host, kind)?;
        let idx = f.pos;
        let owner = match self.vendor_for_host(host) {
            Some(v) => Owner::Vendor(v),
            None => Owner::List(idx),
        };
        Some(RuleHit { owner, rule_id: f.reason(), use_ })
    }

    /// The filter a list verdict cites.
    pub fn list_filter(&self, idx: usize) -> Option<&Filter> {
        self.filters.filters.get(idx)
    }

    /// Vendor id, name and category of a verdict's owner (a list owner is named after the host's domain).
    pub fn owner_name(&self, owner: Owner, host: &str) -> (String, String, String) {
        match owner {
            Owner::Vendor(i) => {
                let v = &self.vendors[i];
                (v.id.clone(), v.name.clone(), v.category.clone())
            }
            Owner::List(f) => {
                let list_id = self.filters.filters.get(f).map(|f| f.list_id.as_str()).unwrap_or("");
                (format!("list-{list_id}"), self.psl.registrable_domain(host), "other".into())
            }
        }
    }

    /// Redirect rules whose domains cover ``host``, most specific suffix first, then the "*" ones.
    fn redirects_for<'a>(&'a self, host: &'a str) -> impl Iterator<Item = &'a Redirect> + 'a {
        let own: Vec<usize> = suffixes(host)
            .flat_map(|s| self.redirect_by_domain.get(s).into_iter().flatten().copied())
            .collect();
        let star: Vec<usize> = self.redirect_by_domain.get("*").into_iter().flatten().copied()
            .filter(|i| !own.contains(i)).collect();
        own.into_iter().chain(star).map(move |i| &self.redirects[i])
    }

    /// (rule id, raw destination, decoder) for a redirect wrapper whose destination is in the URL.
    pub fn match_redirect<'a>(&'a self, host: &'a str, target: &str, url: &str) -> Option<(&'a str, String, &'a str)> {
        for red in self.redirects_for(host) {
            if !red.matcher.is_match(target) {
                continue;
            }
            if let Some(ex) = &red.extract {
                let Ok(rx) = ex.get() else { continue };
                if let Some(c) = rx.captures(target) {
                    if c.get(1).is_some_and(|g| !g.as_str().is_empty()) {
                        let raw = if red.decode == "https-join" {
                            c.iter().skip(1).flatten().map(|g| g.as_str()).collect::<String>()
                        } else {
                            c[1].to_string()
                        };
                        return Some((&red.id, raw, &red.decode));
                    }
                }
            } else if !red.param.is_empty() {
                let q = url.split_once('?').map(|x| x.1.split('#').next().unwrap_or("")).unwrap_or("");
                for (k, val) in crate::pycompat::parse_qsl(q) {
                    if k == red.param && !val.is_empty() {
                        return Some((&red.id, val, &red.decode));
                    }
                }
            }
        }
        None
    }

    /// The parameter rules that apply on `host`, gathered once for all of a URL's parameters.
    pub fn params_on<'a>(&'a self, host: &'a str) -> HostParams<'a> {
        let hosts: Vec<&str> = suffixes(host).collect();
        let exempt = hosts.iter().any(|s| self.exempt.contains(*s));
        let patterns = if exempt {
            Vec::new()
        } else {
            self.param_patterns.iter().map(|&i| &self.params[i])
                .chain(hosts.iter().flat_map(|s| self.param_scoped.get(*s).into_iter().flatten().map(|&i| &self.params[i])))
                .collect()
        };
        HostParams { judge: self, hosts, exempt, patterns }
    }

    /// Is parameter ``name`` of ``url`` (on ``host``) a tracking parameter?
    pub fn is_tracking_param(&self, name: &str, host: &str, url: &str) -> bool {
        self.params_on(host).is_tracking(name, url)
    }

    /// Does a path match one of the generic open-tracking paths?
    pub fn generic_open(&self, target: &str) -> bool {
        self.generic_open.as_ref().is_some_and(|rx| rx.is_match(target))
    }

    /// Is this image a known spacer (layout, not a pixel)?
    pub fn spacer(&self, target: &str) -> bool {
        self.spacer.as_ref().is_some_and(|rx| rx.is_match(target))
    }
}
