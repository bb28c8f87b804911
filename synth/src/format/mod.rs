//! The synthetic state's extracts in agency formats other than the canonical CSV.

pub mod edfi;
