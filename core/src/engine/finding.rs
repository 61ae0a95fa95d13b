//! One thing the engine found and what it did, as Python's `report.Finding` takes it (the part
//! name is added by the caller).
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub kind: String,
    pub url: Option<String>,
    pub where_: String,
    pub action: &'static str,
    pub reason: String,
    pub tracker: Option<String>,
    pub certainty: String,
    pub detail: Option<String>,
}
