//! Descriptor values (`uri://<namespace>/SexDescriptor#Female`) to canonical codes.
//!
//! The mapping is data: the shipped `connectors/data/crosswalks/edfi_ds5.csv` (or the file the
//! source's `crosswalk` option names instead), with the job's own crosswalk files layered on
//! top. A row may name the full URI, which pins one namespace, or only the code value after the
//! last `#`, which matches that code in any namespace: states publish their own namespaces,
//! so the ed-fi.org one is never assumed.

use std::sync::Arc;

use p20w_schemas::{CodeSets, Crosswalk};

/// The shipped crosswalk of Ed-Fi Data Standard 4/5 (and 6) descriptor code values.
pub const SHIPPED_CROSSWALK: &str = include_str!("../../../data/crosswalks/edfi_ds5.csv");

/// The code value of a descriptor: the text after its last `#` (all of it when there is none).
pub fn code_value(descriptor: &str) -> &str {
    let d = descriptor.trim();
    d.rsplit_once('#').map_or(d, |(_, v)| v.trim())
}

pub struct Descriptors {
    job: Arc<Crosswalk>,
    shipped: Crosswalk,
}

impl Descriptors {
    pub fn new(job: Arc<Crosswalk>, shipped: Crosswalk) -> Descriptors {
        Descriptors { job, shipped }
    }

    /// The canonical code of `set` that the crosswalks map `descriptor` to: the job's before
    /// the shipped one, the full URI before the bare code value.
    pub fn map<'a>(&'a self, set: &str, descriptor: &str) -> Option<&'a str> {
        let full = descriptor.trim();
        let value = code_value(full);
        [&*self.job, &self.shipped]
            .into_iter()
            .find_map(|x| x.map(set, full).or_else(|| x.map(set, value)))
    }

    /// The canonical code `descriptor` stands for: mapped, or its code value when that is a
    /// code of `set` already.
    pub fn code<'a>(&'a self, set: &str, descriptor: &'a str) -> Option<&'a str> {
        self.map(set, descriptor).or_else(|| {
            let value = code_value(descriptor);
            CodeSets::builtin()
                .get(set)
                .is_some_and(|s| s.contains(value))
                .then_some(value)
        })
    }

    /// The text to hand to the record builder for a field of code set `set`: the mapped code,
    /// else the code value when it is itself a canonical code (a state namespace may use CEDS
    /// codes), else the descriptor as found, which the builder reports as an unmapped code.
    pub fn field_text<'a>(&'a self, set: &str, descriptor: &'a str) -> &'a str {
        self.code(set, descriptor).unwrap_or(descriptor.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Crosswalk {
        let mut x = Crosswalk::default();
        x.add_csv("edfi_ds5.csv", SHIPPED_CROSSWALK).unwrap();
        x
    }

    #[test]
    fn any_namespace_matches_by_code_value_and_the_job_layer_wins() {
        let mut job = Crosswalk::default();
        job.add_csv(
            "state.csv",
            "code_set,source_code,code\n\
             sex,uri://state.example/SexDescriptor#W,Female\n\
             exit_type,Transferred,01909\n",
        )
        .unwrap();
        let d = Descriptors::new(Arc::new(job), shipped());
        assert_eq!(
            d.map("sex", "uri://ed-fi.org/SexDescriptor#Female"),
            Some("Female")
        );
        assert_eq!(
            d.map("sex", "uri://other.example/SexDescriptor#Female"),
            Some("Female")
        );
        assert_eq!(
            d.map("sex", "uri://state.example/SexDescriptor#W"),
            Some("Female")
        );
        assert_eq!(d.map("sex", "uri://other.example/SexDescriptor#W"), None);
        assert_eq!(
            d.map(
                "exit_type",
                "uri://ed-fi.org/ExitWithdrawTypeDescriptor#Transferred"
            ),
            Some("01909"),
            "the job's row overrides the shipped one"
        );
        assert_eq!(
            d.field_text(
                "exit_type",
                "uri://state.example/ExitWithdrawTypeDescriptor#01907"
            ),
            "01907"
        );
        assert_eq!(
            d.field_text("sex", "uri://ed-fi.org/SexDescriptor#Unknown"),
            "uri://ed-fi.org/SexDescriptor#Unknown"
        );
        assert_eq!(code_value("Female"), "Female");
    }
}
