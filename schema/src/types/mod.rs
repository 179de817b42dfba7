//! GraphQL output types. Each wraps a row or a service value and exposes only
//! the fields the API promises, so no column leaks by accident.

pub mod change;
pub mod figures;
pub mod guidance;
pub mod municipality;
pub mod page;
pub mod participation;
pub mod response;
pub mod round;
pub mod series;
pub mod time;
pub mod trends;
pub mod viewer;
pub mod webhook;
