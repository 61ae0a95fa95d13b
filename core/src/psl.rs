//! Registrable domains from the public-suffix snapshot bundled with ``tldextract``.
//!
//! The text is handed over by Python (the very file tldextract ships), so the answers are those
//! of the list version the engine always used; the lookup is tldextract's own: labels matched
//! right to left in a trie of the ICANN section (private domains excluded), ``*`` wildcards and
//! ``!`` exceptions, punycode labels decoded before the look-up.
use std::net::Ipv6Addr;
use std::str::FromStr;

use rustc_hash::FxHashMap as HashMap;

#[derive(Default)]
struct Node {
    children: HashMap<String, Node>,
    end: bool,
}

#[derive(Default)]
pub struct Psl {
    root: Node,
}

const PRIVATE_SEPARATOR: &str = "// ===BEGIN PRIVATE DOMAINS===";

impl Psl {
    /// Build from the list text (the public section only, as tldextract does by default).
    pub fn from_text(text: &str) -> Psl {
        let public = text.split(PRIVATE_SEPARATOR).next().unwrap_or("");
        let mut psl = Psl::default();
        for line in public.split('\n') {
            if let Some(suffix) = rule_of(line) {
                psl.add(suffix);
            }
        }
        psl
    }

    fn add(&mut self, suffix: &str) {
        let mut node = &mut self.root;
        for label in suffix.rsplit('.') {
            node = node.children.entry(label.to_string()).or_default();
        }
        node.end = true;
    }

    /// Index of the first public-suffix label, if the labels end in a known suffix.
    fn suffix_index(&self, labels: &[&str]) -> Option<usize> {
        let mut node = &self.root;
        let mut label_idx = labels.len();
        let mut suffix_idx = labels.len();
        for label in labels.iter().rev() {
            let decoded = decode_punycode(label);
            if let Some(next) = node.children.get(&decoded) {
                label_idx -= 1;
                node = next;
                if node.end {
                    suffix_idx = label_idx;
                }
                continue;
            }
            if node.children.contains_key("*") {
                let exception = node.children.contains_key(&format!("!{decoded}"));
                return Some(if exception { label_idx } else { label_idx - 1 });
            }
            break;
        }
        (suffix_idx != labels.len()).then_some(suffix_idx)
    }

    /// "a.b.example.co.uk" -> "example.co.uk"; the host itself when it has no registrable part.
    pub fn registrable_domain(&self, host: &str) -> String {
        let netloc = lenient_netloc(host);
        let netloc: String = netloc.replace(['\u{3002}', '\u{ff0e}', '\u{ff61}'], ".");
        if netloc.chars().count() >= 4 && netloc.starts_with('[') && netloc.ends_with(']')
            && Ipv6Addr::from_str(&netloc[1..netloc.len() - 1]).is_ok()
        {
            return host.to_string();
        }
        let labels: Vec<&str> = netloc.split('.').collect();
        match self.suffix_index(&labels) {
            Some(i) if i > 0 => {
                let domain = labels[i - 1];
                let suffix = labels[i..].join(".");
                if domain.is_empty() || suffix.is_empty() {
                    host.to_string()
                } else {
                    format!("{domain}.{suffix}")
                }
            }
            _ => host.to_string(),
        }
    }
}

/// tldextract's ``^(?P<suffix>[.*!]*\w[\S]*)`` on one line: the rule at its start, if any.
fn rule_of(line: &str) -> Option<&str> {
    let rest = line.trim_start_matches(['.', '*', '!']);
    let first = rest.chars().next()?;
    if !(first.is_alphanumeric() || first == '_') {
        return None;
    }
    let end = line.len() - rest.len() + rest.find(char::is_whitespace).unwrap_or(rest.len());
    Some(&line[..end])
}

fn decode_punycode(label: &str) -> String {
    let low = label.to_lowercase();
    if let Some(rest) = low.strip_prefix("xn--") {
        if let Some(dec) = idna::punycode::decode_to_string(rest) {
            if !dec.is_empty() {
                return dec;
            }
        }
    }
    low
}

/// tldextract's ``lenient_netloc``: the host part of a URL-like string, case kept.
fn lenient_netloc(url: &str) -> String {
    let schemeless = match url.find("//") {
        Some(0) => &url[2..],
        Some(i) if i >= 2 && url.as_bytes()[i - 1] == b':'
            && url[..i - 1].chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) => &url[i + 2..],
        _ => url,
    };
    let authority = schemeless.split(['/', '?', '#']).next().unwrap_or("");
    let after_userinfo = authority.rsplit_once('@').map(|x| x.1).unwrap_or(authority);
    if after_userinfo.starts_with('[') {
        if let Some((inner, _)) = after_userinfo.split_once(']') {
            return format!("{inner}]");
        }
    }
    let hostname = crate::pycompat::strip(after_userinfo.split(':').next().unwrap_or(""));
    hostname.trim_end_matches(['.', '\u{3002}', '\u{ff0e}', '\u{ff61}']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_exceptions_and_plain() {
        let psl = Psl::from_text("com\nuk\nco.uk\n*.ck\n!www.ck\n// ===BEGIN PRIVATE DOMAINS===\nblogspot.com\n");
        assert_eq!(psl.registrable_domain("a.b.example.co.uk"), "example.co.uk");
        assert_eq!(psl.registrable_domain("x.blogspot.com"), "blogspot.com");
        assert_eq!(psl.registrable_domain("a.foo.ck"), "a.foo.ck");
        assert_eq!(psl.registrable_domain("b.a.foo.ck"), "a.foo.ck");
        assert_eq!(psl.registrable_domain("www.ck"), "www.ck");
        assert_eq!(psl.registrable_domain("localhost"), "localhost");
        assert_eq!(psl.registrable_domain("co.uk"), "co.uk");
    }
}
