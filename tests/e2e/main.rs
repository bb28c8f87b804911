//! End-to-end tests: they run the `p20w` binary on synthetic states and check the release
//! against the generator's ground truth, never against numbers copied from the program.

mod agreements;
mod attack;
mod audit;
mod common;
mod crosswalks;
mod definitions;
mod disclosure;
mod identifiers;
mod interrupt;
mod linkage;
mod locations;
mod operator;
mod quarantine;
mod query;
mod real_formats;
mod release;
mod signing;
mod standard_formats;
mod subtraction;
mod truth;
mod validate;
