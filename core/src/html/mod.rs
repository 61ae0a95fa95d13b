//! The HTML half of the document pass: parse (html5ever into an arena DOM), collect every URL
//! site exactly as `tracker_block/html.py` does, rewrite, serialise.
//!
//! For the engine: `parse(html) -> Result<Document, Exceeded>`; `collect(&doc) -> (Vec<Site>, prone)`;
//! `link_text(&doc, &site)`; `collect::{comment_runs_script, comment_hides_url, URL_IN_COMMENT,
//! size_from}` for Outlook comments; `visibility::Resolver::for_rules(&doc, rules, flag)` with
//! `touches`/`resolve` (rules from the sheet reader; `visibility::style_texts` gives the sheets);
//! `apply_all(&mut doc, &[(&site, Op)])` in the engine's order; `serialize(&doc)`.
pub mod collect;
pub mod dom;
pub mod parse;
pub mod rewrite;
pub mod serialize;
pub mod visibility;
mod style;
pub mod tokenize;
mod unescape;

pub use collect::{collect, link_text, Site};
pub use dom::{Document, NodeId, Exceeded};
pub use parse::parse;
pub use rewrite::{apply, apply_all, Op};
pub use serialize::{serialize, serialize_sized};
pub use style::parse_px as style_px;
pub use style::{parse_px, style_size};
pub use unescape::unescape;
