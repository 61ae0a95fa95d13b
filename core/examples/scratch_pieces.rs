use _core::css::{self, sheet};
fn sheets(doc: &str) -> Vec<String> {
    let mut out = Vec::new(); let mut rest = doc;
    while let Some(open) = rest.find("<style") { let Some(gt) = rest[open..].find('>') else { break };
        let body = &rest[open + gt + 1..]; let Some(end) = body.find("</style>") else { break };
        out.push(body[..end].to_string()); rest = &body[end..]; }
    out
}
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let mut cat = std::collections::BTreeMap::new();
    let mut shown = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        for s in sheets(&std::fs::read_to_string(e.path()).unwrap()) {
            for p in sheet::pieces(&s) { if let sheet::Piece::Rule { span, plain, urls } = p {
                let r = &s[span.clone()];
                let mut outside = String::new(); let mut at = span.start;
                for u in &urls { outside.push_str(&s[at..u.span.start]); outside.push(' '); at = u.span.end; }
                outside.push_str(&s[at..span.end]);
                let k = if !plain { "nonplain" } else if css::may_load(&outside) { "loads-outside" } else if urls.iter().any(|u| u.url.contains("gstatic") || u.url.contains("emltrk")) { "removed" } else { "fast" };
                *cat.entry(k).or_insert(0usize) += r.len();
                if (k == "nonplain" || k == "loads-outside") && shown < 6 { shown += 1; println!("{k}: {}", &r[..r.len().min(250)]); }
            }}
        }
    }
    println!("{cat:?}");
}
