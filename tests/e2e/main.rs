//! End-to-end tests: they run the `p20w` binary on synthetic states and check the release
//! against the generator's ground truth, never against numbers copied from the program.

mod common;
mod identifiers;
mod operator;
mod quarantine;
mod release;
mod truth;
