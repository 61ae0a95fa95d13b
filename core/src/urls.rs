//! URL reading the way browsers read it, and the host/target split the rules look at.
//!
//! Pure string work: nothing is ever fetched. Where a URL is unusual (userinfo, IPv6 literal,
//! percent-encoded host) the host is read as Python's ``urllib.parse.urlsplit`` reads it, so the
//! answers stay the ones the engine has always given (and ``canonical`` signs the same text).
use std::borrow::Cow;
use std::net::Ipv6Addr;
use std::str::FromStr;

use crate::pycompat;
use crate::rules::Judge;


/// Schemes a mail client fetches over the network; "//" is protocol-relative.
pub const REMOTE_SCHEMES: [&str; 5] = ["http", "https", "ftp", "ws", "wss"];

/// The URL a browser would act on: inner tabs/newlines gone, ends trimmed of C0 controls and space.
pub fn normalise(url: &str) -> Cow<'_, str> {
    let c0 = |c: char| c <= ' ';
    if memchr::memchr3(b'\t', b'\n', b'\r', url.as_bytes()).is_none() {
        return Cow::Borrowed(url.trim_matches(c0)); // (most URLs: nothing to copy)
    }
    let s: String = url.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    Cow::Owned(s.trim_matches(c0).to_owned())
}

fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '+' || c == '.' || c == '-'
}

/// Length of a leading ``[a-zA-Z][a-zA-Z0-9+.-]*`` followed by ":" (the scheme), if any.
fn scheme_len(url: &str) -> Option<usize> {
    let b = url.as_bytes();
    if !b.first()?.is_ascii_alphabetic() {
        return None;
    }
    let n = url.find(|c: char| !is_scheme_char(c)).unwrap_or(url.len());
    (b.get(n) == Some(&b':')).then_some(n)
}

/// Lowercased scheme of a normalised URL; "//" for protocol-relative; "" for relative.
pub fn scheme_of(url: &str) -> Cow<'_, str> {
    if let Some(n) = scheme_len(url) {
        let scheme = &url[..n];
        return if scheme.bytes().any(|b| b.is_ascii_uppercase()) { Cow::Owned(scheme.to_ascii_lowercase()) } else { Cow::Borrowed(scheme) };
    }
    let mut two = url.chars().take(2).map(|c| if c == '\\' { '/' } else { c });
    if two.next() == Some('/') && two.next() == Some('/') {
        return Cow::Borrowed("//");
    }
    Cow::Borrowed("")
}

/// Would a mail client reach the network for this URL (as a load)?
pub fn is_remote(url: &str) -> bool {
    let s = scheme_of(url);
    s == "//" || REMOTE_SCHEMES.contains(&&*s)
}

/// Protocol-relative and slash-less forms made explicit (``//h/x`` -> ``https://h/x``, ``http:h`` -> ``http://h``).
pub fn absolute(url: &str) -> String {
    absolute_cow(url).into_owned()
}

/// `absolute`, borrowing the URL when it is already explicit (most are: no copy per verdict).
pub fn absolute_cow(url: &str) -> Cow<'_, str> {
    if url.starts_with("https://") || (url.starts_with("http://") && !url[7..].starts_with('\\')) {
        return Cow::Borrowed(url);
    }
    let owned;
    let url = if url.chars().take(8).any(|c| c == '\\') {
        owned = url.replace('\\', "/");
        owned.as_str()
    } else {
        url
    };
    let s = scheme_of(url);
    if s == "//" {
        return Cow::Owned(format!("https:{url}"));
    }
    if REMOTE_SCHEMES.contains(&&*s) {
        let rest = &url[s.len() + 1..];
        if rest.starts_with("//") {
            return Cow::Owned(format!("{s}:{rest}"));
        }
        return Cow::Owned(format!("{s}://{}", rest.trim_start_matches('/')));
    }
    Cow::Owned(url.to_string())
}

/// What the rules look at: the host (lowercase, no port, no userinfo) and "host/path?query".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parts {
    pub host: String,
    pub target: String,
}

/// Where the authority of `rest` (what follows "://") ends: at the first '/', '?' or '#'.
fn authority_end(rest: &str) -> usize {
    rest.bytes().position(|b| matches!(b, b'/' | b'?' | b'#')).unwrap_or(rest.len())
}

/// `tail` up to its fragment.
fn before_fragment(tail: &str) -> &str {
    memchr::memchr(b'#', tail.as_bytes()).map_or(tail, |i| &tail[..i])
}

/// Split an absolute remote URL into what the rules look at.
pub fn parts(url: &str) -> Parts {
    let full = absolute_cow(url);
    let (authority, tail) = match scheme_len(&full).filter(|&n| full[n..].starts_with("://")) {
        Some(n) => {
            let rest = &full[n + 3..];
            let end = authority_end(rest);
            (&rest[..end], before_fragment(&rest[end..]))
        }
        None => {
            let Some(start) = full.find("://") else {
                return Parts { host: String::new(), target: url.to_string() };
            };
            let rest = &full[start + 3..];
            let end = authority_end(rest);
            (&rest[..end], before_fragment(&rest[end..]))
        }
    };
    let host = if authority.contains(['@', '[', '%']) {
        match split(&full) {
            Ok(sp) => sp.hostname().unwrap_or_default().trim_end_matches('.').to_string(),
            Err(_) => return Parts { host: String::new(), target: url.to_string() },
        }
    } else {
        let name = authority.split(':').next().unwrap_or("");
        let mut host = if name.is_ascii() { name.to_ascii_lowercase() } else { name.to_lowercase() };
        let kept = host.trim_end_matches('.').len();
        host.truncate(kept);
        host
    };
    let mut target = String::with_capacity(host.len() + tail.len() + 1);
    target.push_str(&host);
    if !tail.starts_with('/') {
        target.push('/');
    }
    target.push_str(tail);
    Parts { host, target }
}

/// ``urllib.parse.urlsplit``'s reading of a URL (the parts ``canonical`` and unusual hosts need).
pub struct Split {
    pub scheme: String,
    pub netloc: String,
    pub path: String,
    pub query: String,
}

/// Python's ``repr`` of a string, as its error messages quote it.
fn py_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::from(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

fn valid_ipv6(h: &str) -> bool {
    let (addr, scope) = match h.split_once('%') {
        Some((a, s)) => (a, Some(s)),
        None => (h, None),
    };
    if scope.is_some_and(|s| s.is_empty() || s.contains('%')) {
        return false;
    }
    Ipv6Addr::from_str(addr).is_ok()
}

fn check_bracketed_host(h: &str) -> Result<(), String> {
    if let Some(rest) = h.strip_prefix('v') {
        let hexlen = rest.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(rest.len());
        let ok = hexlen > 0 && rest[hexlen..].starts_with('.') && rest.len() > hexlen + 1
            && !rest[hexlen + 1..].contains('\n');
        return if ok { Ok(()) } else { Err("IPvFuture address is invalid".into()) };
    }
    if std::net::Ipv4Addr::from_str(h).is_ok() {
        return Err("An IPv4 address cannot be in brackets".into());
    }
    if valid_ipv6(h) {
        Ok(())
    } else {
        Err(format!("{} does not appear to be an IPv4 or IPv6 address", py_repr(h)))
    }
}

/// ``urllib.parse.urlsplit`` (Python 3.11); Err carries the ValueError's message.
pub fn split(url: &str) -> Result<Split, String> {
    let url: String = url.trim_start_matches(|c: char| c <= ' ').chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n')).collect();
    let mut scheme = String::new();
    let mut rest = url.as_str();
    if let Some(i) = rest.find(':') {
        if i > 0 && rest.as_bytes()[0].is_ascii_alphabetic() && rest[..i].chars().all(is_scheme_char) {
            scheme = rest[..i].to_ascii_lowercase();
            rest = &rest[i + 1..];
        }
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = &after[..end];
        rest = &after[end..];
        let (open, close) = (netloc.contains('['), netloc.contains(']'));
        if open != close {
            return Err("Invalid IPv6 URL".into());
        }
        if open {
            let inner = netloc.split_once('[').map(|x| x.1).unwrap_or("");
            check_bracketed_host(inner.split(']').next().unwrap_or(""))?;
        }
    }
    let rest = rest.split_once('#').map(|x| x.0).unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    Ok(Split { scheme, netloc: netloc.to_string(), path: path.to_string(), query: query.to_string() })
}

impl Split {
    fn hostinfo(&self) -> (&str, Option<&str>) {
        let hostinfo = self.netloc.rsplit_once('@').map(|x| x.1).unwrap_or(&self.netloc);
        let (host, port) = match hostinfo.split_once('[') {
            Some((_, bracketed)) => {
                let (h, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
                (h, after.split_once(':').map(|x| x.1).unwrap_or(""))
            }
            None => hostinfo.split_once(':').unwrap_or((hostinfo, "")),
        };
        (host, Some(port).filter(|p| !p.is_empty()))
    }

    /// Lowercased host (an IPv6 zone id keeps its case), None when empty.
    pub fn hostname(&self) -> Option<String> {
        let (h, _) = self.hostinfo();
        if h.is_empty() {
            return None;
        }
        Some(match h.split_once('%') {
            Some((a, zone)) => format!("{}%{zone}", a.to_lowercase()),
            None => h.to_lowercase(),
        })
    }

    pub fn port(&self) -> Result<Option<u32>, String> {
        let Some(p) = self.hostinfo().1 else { return Ok(None) };
        if !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("Port could not be cast to integer value as {}", py_repr(p)));
        }
        let digits = p.trim_start_matches('0');
        if digits.len() > 5 || digits.parse::<u32>().unwrap_or(0) > 65535 {
            return Err("Port out of range 0-65535".into());
        }
        Ok(Some(digits.parse().unwrap_or(0)))
    }
}

const USES_NETLOC: [&str; 26] = ["", "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file", "mms", "https",
    "shttp", "snews", "prospero", "rtsp", "rtspu", "rsync", "svn", "svn+ssh", "sftp", "nfs", "git", "git+ssh", "ws",
    "wss", "itms-services"];

/// Stable form for signing and caching: scheme/host lowercased, default port and fragment dropped.
/// Err (Python's ValueError message) for URLs that cannot be parsed (bad port, broken IPv6 literal).
///
/// Why not the ``url`` crate (WHATWG): on the 26,516 URLs of the judge's differential corpus it
/// answers differently for 772 (it keeps userinfo, resolves IPv4 shorthand such as ``127.1``,
/// percent-encodes spaces, refuses empty hosts); signatures and cache keys must not change.
pub fn canonical(url: &str) -> Result<String, String> {
    let sp = split(&absolute(url))?;
    let mut host = sp.hostname().unwrap_or_default().to_lowercase();
    if host.contains(':') {
        host = format!("[{host}]");
    }
    let port = sp.port()?;
    let scheme = sp.scheme.to_lowercase();
    let netloc = match port {
        Some(p) if !((scheme == "http" && p == 80) || (scheme == "https" && p == 443)) => format!("{host}:{p}"),
        _ => host,
    };
    let mut path = if sp.path.is_empty() { "/".to_string() } else { sp.path.clone() };
    if !netloc.is_empty() || (!scheme.is_empty() && USES_NETLOC.contains(&scheme.as_str()) && !path.starts_with("//")) {
        if !path.is_empty() && !path.starts_with('/') {
            path.insert(0, '/');
        }
        path = format!("//{netloc}{path}");
    }
    let mut out = if scheme.is_empty() { path } else { format!("{scheme}:{path}") };
    if !sp.query.is_empty() {
        out.push('?');
        out.push_str(&sp.query);
    }
    Ok(out)
}

// ---------------------------------------------------------------- link cleaning

/// A cleaned link: the URL, the redirect rule that was removed (if any), the parameters stripped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkResult {
    pub url: String,
    pub unwrapped_by: Option<String>,
    pub stripped: Vec<String>,
}

fn decode_destination(raw: &str, decode: &str) -> Option<String> {
    match decode {
        "base64url" => pycompat::urlsafe_b64_text(&pycompat::unquote(raw)),
        // https://urldefense.proofpoint.com/v2/url?u=https-3A__example.com_a&d=...
        "proofpoint-v2" => {
            let text: Vec<char> = raw.replace('_', "/").chars().collect();
            let mut out = String::with_capacity(text.len());
            let mut i = 0;
            while i < text.len() {
                if text[i] == '-' && i + 2 < text.len() && text[i + 1].is_ascii_hexdigit() && text[i + 2].is_ascii_hexdigit() {
                    let v = u32::from_str_radix(&text[i + 1..i + 3].iter().collect::<String>(), 16).unwrap_or(0);
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                    i += 3;
                } else {
                    out.push(text[i]);
                    i += 1;
                }
            }
            Some(out)
        }
        // https://urldefense.com/v3/__https://example.com/a__;!!... ; "*" runs stand for stripped bytes
        "proofpoint-v3" => (!raw.contains('*')).then(|| raw.to_string()),
        // Customer.io: <base64url of {"href": "<destination>", ...}>
        "base64-json-href" => {
            let text = pycompat::urlsafe_b64_text(&pycompat::unquote(raw))?;
            match serde_json::from_str::<serde_json::Value>(&text).ok()? {
                serde_json::Value::Object(m) => m.get("href").and_then(|h| h.as_str()).map(str::to_string),
                _ => None,
            }
        }
        // the captured pieces of the link itself, rejoined (a path prefix such as /comm/ dropped)
        "https-join" => Some(format!("https://{raw}")),
        "awstrack" => Some(pycompat::unquote(raw)),
        _ => {
            let head: String = raw.chars().take(12).collect();
            Some(if head.contains('%') { pycompat::unquote(raw) } else { raw.to_string() })
        }
    }
}

/// Follow redirect wrappers whose destination is inside the URL: (destination, first rule id).
/// `first_parts` are the URL's `parts`, which the caller has read already.
fn unwrap(url: &str, first_parts: &Parts, judge: &Judge) -> (String, Option<String>) {
    let mut url = url.to_string();
    let mut first: Option<String> = None;
    for round in 0..5 {
        let read;
        let p = if round == 0 {
            first_parts
        } else {
            read = parts(&url);
            &read
        };
        let Some((rule_id, raw, decode)) = judge.match_redirect(&p.host, &p.target, &url) else { break };
        let Some(dest) = decode_destination(&raw, decode) else { break };
        if dest.is_empty() || !is_remote(&dest) || dest == url {
            break;
        }
        if first.is_none() {
            first = Some(rule_id.to_string());
        }
        url = dest;
    }
    (url, first)
}

/// Remove tracking parameters, keeping every other parameter, its encoding and its order
/// (`host`: the URL's, as `parts` reads it).
fn strip_params(url: &str, host: &str, judge: &Judge) -> (String, Vec<String>) {
    let Some(qpos) = url.find('?') else { return (url.to_string(), Vec::new()) };
    let hpos = url[qpos..].find('#').map(|h| h + qpos);
    let query = &url[qpos + 1..hpos.unwrap_or(url.len())];
    let frag = hpos.map(|h| &url[h..]).unwrap_or("");
    let (mut kept, mut removed) = (Vec::new(), Vec::new());
    let params = judge.params_on(host);
    for piece in query.split('&') {
        let raw = piece.split('=').next().unwrap_or("");
        let name = if raw.contains(['%', '+']) { pycompat::unquote(&raw.replace('+', " ")) } else { raw.to_string() };
        if !name.is_empty() && params.is_tracking(&name, url) {
            removed.push(name);
        } else {
            kept.push(piece);
        }
    }
    if removed.is_empty() {
        return (url.to_string(), removed);
    }
    let new_query = kept.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join("&");
    let mut out = url[..qpos].to_string();
    if !new_query.is_empty() {
        out.push('?');
        out.push_str(&new_query);
    }
    out.push_str(frag);
    (out, removed)
}

/// Unwrap then strip: (destination, redirect rule id, destination without tracking parameters, names removed).
pub fn unwrap_and_strip(url: &str, judge: &Judge) -> (String, Option<String>, String, Vec<String>) {
    unwrap_and_strip_from(url, &parts(url), judge)
}

/// `unwrap_and_strip` given the URL's `parts` (read once per link: the judge reads them too).
fn unwrap_and_strip_from(url: &str, p: &Parts, judge: &Judge) -> (String, Option<String>, String, Vec<String>) {
    let (dest, rule) = unwrap(url, p, judge);
    let read;
    let host = if rule.is_none() {
        &p.host // not unwrapped: the destination is the URL itself
    } else {
        read = parts(&dest).host;
        &read
    };
    let (cleaned, removed) = strip_params(&dest, host, judge);
    (dest, rule, cleaned, removed)
}

/// Unwrap then strip. A ``conservative`` link (unsubscribe) is unwrapped but keeps its parameters;
/// the predicate is asked (with the destination) only when something would be stripped.
pub fn clean_link(url: &str, judge: &Judge, conservative: impl FnOnce(&str) -> bool) -> LinkResult {
    clean_link_from(url, &parts(url), judge, conservative)
}

/// `clean_link` given the URL's `parts`.
pub fn clean_link_from(url: &str, p: &Parts, judge: &Judge, conservative: impl FnOnce(&str) -> bool) -> LinkResult {
    let (dest, rule, cleaned, removed) = unwrap_and_strip_from(url, p, judge);
    if !removed.is_empty() && conservative(&dest) {
        return LinkResult { url: dest, unwrapped_by: rule, stripped: Vec::new() };
    }
    LinkResult { url: cleaned, unwrapped_by: rule, stripped: removed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_and_parts() {
        assert_eq!(absolute("//h.example/x"), "https://h.example/x");
        assert_eq!(absolute("http:h.example"), "http://h.example");
        assert_eq!(absolute("http:\\\\h\\a"), "http://h/a");
        let p = parts("https://User@Track.Example.:8080/o.gif?x#f");
        assert_eq!((p.host.as_str(), p.target.as_str()), ("track.example", "track.example/o.gif?x"));
        assert_eq!(parts("HTTPS://A.B?q").target, "a.b/?q");
        assert_eq!(parts("https://[::1/x").host, "");
    }

    #[test]
    fn canonical_like_urllib() {
        assert_eq!(canonical("HTTPS://A.example:443/p?q#f").unwrap(), "https://a.example/p?q");
        assert_eq!(canonical("http://a.example:8080").unwrap(), "http://a.example:8080/");
        assert_eq!(canonical("https://a.example:99999/").unwrap_err(), "Port out of range 0-65535");
        assert_eq!(canonical("https://[not-ip]/").unwrap_err(), "'not-ip' does not appear to be an IPv4 or IPv6 address");
    }
}
