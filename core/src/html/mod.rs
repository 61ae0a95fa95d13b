//! The HTML half of the document pass: parse (html5ever into an arena DOM), collect every URL
//! site exactly as `tracker_block/html.py` does, rewrite, serialise.
pub mod collect;
pub mod dom;
pub mod parse;
pub mod rewrite;
pub mod serialize;
pub mod visibility;
mod style;
mod unescape;

pub use collect::{collect, link_text, Site};
pub use dom::{Document, NodeId};
pub use parse::parse;
pub use rewrite::{apply, apply_all, Op};
pub use serialize::serialize;
pub use style::parse_px as style_px;
pub use style::{parse_px, style_size};
pub use unescape::unescape;
