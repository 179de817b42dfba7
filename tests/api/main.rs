//! The black-box test suite: the real server over HTTP, on SQLite and (with
//! `MOGNAD_TEST_DATABASE_URL`) on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test stops at the first failure"
)]

mod answers;
mod auditor;
mod auth;
mod authoring;
mod bounds;
mod browser;
mod charts;
mod cli;
mod compile_fail;
mod county;
mod disclosure;
mod doors;
mod faults;
mod feed;
mod fidelity;
mod figures;
mod guidance;
mod hardening;
mod helpers;
mod http;
mod idp;
mod input;
mod interval;
mod isolation;
mod lifecycle;
mod memory;
mod open_data;
mod persisted;
mod providers;
mod readme;
mod reference;
mod schema_sdl;
mod seed;
mod series;
mod tenancy;
mod transfer;
mod webhooks;
