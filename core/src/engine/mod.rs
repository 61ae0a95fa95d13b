//! The engine's document pass: decide every site `html::collect` finds (the judge in `detect`,
//! the mode in `policy`), rewrite, and report findings.
pub mod clean;
pub mod finding;
pub mod markup;
pub mod policy;
pub mod signing;
pub mod visibility;
