//! lateral: hunt lateral movement live from the terminal.
//!
//! Data flows one way through the modules:
//!
//! ```text
//! ingest (read / tail files, .gz, .zip)  ──bytes──►  decode (detect, frame, normalize)
//!        ──Event──►  index (tantivy)  and  correlate (rules, sessions)  ──►  tui / cli printers
//! ```
//!
//! - [`event`]: the normalized [`event::Event`] and the one [`event::Field`] list every other
//!   module names fields by.
//! - [`decode`]: pure, synchronous decoders from bytes to events, one per log format, with
//!   detection and framing. Never touches files or the clock.
//! - [`ingest`]: the side-effecting edge that reads files, archives and directories and feeds
//!   the decoders, counting errors per source.
//! - [`correlate`]: rules, the event-time correlation engine and the sessions it reports.
//! - [`index`]: every event in a tantivy index (schema from the `Field` list, a batched writer
//!   whose commits carry ingest checkpoints) and search over it.
//! - [`triage`]: checklists, cases, response artifacts and reports.
//! - [`tui`]: the full-screen hunting UI as a pure model, `update` and `view` that the runtime
//!   drives with messages (sessions, stats, search results) and whose commands it executes.
//! - [`simulate`]: synthetic logs with known ground truth: the `samples/` day and the scale
//!   workloads of `lateral simulate` and `lateral bench`.
//! - [`cli`]: the command line (`lateral events`, ...), built on the modules above.

pub mod cli;
pub mod correlate;
pub mod decode;
pub mod event;
pub mod index;
pub mod ingest;
pub mod simulate;
pub mod triage;
pub mod tui;
