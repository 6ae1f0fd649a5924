//! Correlation: rules, the engine, sessions.
//!
//! - [`rule`]: rule files (Sigma detection syntax + lateral's keys) → validated [`rule::Rule`]s.
//! - [`detection`]: the Sigma detection compiler and evaluator.
//! - [`engine`]: the deterministic event-time engine: `observe(&Event) -> Vec<Change>`,
//!   `advance(watermark) -> Vec<Change>`.
//! - [`context`]: execution-context stitching.
//! - [`baseline`]: the east-west flow baseline.
//! - [`session`]: sessions, cases, near misses and changes.
//! - [`builtin`]: the rules shipped in the binary.
//! - [`sigma`]: community Sigma rules and v2 correlations: loading, log-source routing, field
//!   mapping, the rule index and the correlation state machine.
//!
//! Pure and synchronous: rules arrive as text, events as values; no files, no clock.

pub mod baseline;
pub mod builtin;
pub mod context;
pub mod detection;
pub mod engine;
pub mod rule;
pub mod session;
pub mod sigma;

pub use engine::{Engine, EngineConfig};
pub use rule::{Group, Rule, RuleError};
pub use session::{Case, Change, ChangeKind, Session};
