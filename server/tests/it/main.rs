//! The server's integration tests, one module per concern, in one binary: each links the whole
//! server, so one binary instead of thirteen saves most of the test build. They run on the real
//! engine with the local PHP images; `common` holds the test environment they share.

mod common;

mod api;
mod attacks;
mod backfill;
mod builds;
mod compression;
mod connections;
mod export;
mod faults;
mod headers;
mod instances;
mod load;
mod proxies;
mod pull;
mod remote_engine;
mod store;
