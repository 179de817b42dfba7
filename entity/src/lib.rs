//! SeaORM entities of mognad: one module per table, no logic.
//!
//! Tenant-owned tables (`response`, `answer`, `answer_choice`, `answer_event`,
//! `area_score`) are keyed with the municipality code first, so every read of a
//! municipality's own rows is an index lookup on its code.

pub mod answer;
pub mod answer_choice;
pub mod answer_event;
pub mod answer_option;
pub mod area;
pub mod area_score;
pub mod change;
pub mod classification;
pub mod enums;
pub mod guidance;
pub mod municipality;
pub mod municipality_segment;
pub mod question;
pub mod release_plan;
pub mod response;
pub mod segment;
pub mod survey_round;
pub mod webhook;
pub mod webhook_attempt;
pub mod webhook_delivery;

pub use enums::{ChangeKind, QuestionKind, ResponseStatus, RoundStatus, SegmentKind};
