//! The scalar functions the pipeline's SQL calls. Each wraps code tested in `schemas` or
//! `privacy`, so SQL and Rust agree by construction.
//!
//! - `p20w_pseudonym_ssn`, `p20w_pseudonym_state_student_id`,
//!   `p20w_pseudonym_institution_student_id`: keyed pseudonyms (Utf8, LargeUtf8 or Utf8View);
//! - `p20w_canonical_ssn`, `p20w_ssn_status`: SSN canonical form (NULL unless valid) and
//!   reason code;
//! - `p20w_race_ethnicity(hispanic, aian, asian, black, nhpi, white)`: the federal view;
//! - `p20w_nontraditional(cip_code, sex)`, `p20w_career_cluster(cip_code)`;
//! - `p20w_person_fingerprint(pid)`: a 64-bit hash of a person's pseudonym whose XOR over a
//!   cell's people tells cells of the same people apart (never published);
//! - `p20w_linkage_encoding(given, family, birth_date, sex)`: the record's keyed Bloom-filter
//!   encoding and blocking keys ([`p20w_privacy::linkage`]), NULL when it has neither a name
//!   nor a birth date;
//! - `p20w_quarter_index(date)`: `year * 4 + quarter - 1`; `p20w_fall_census(date)`: the
//!   October 1 of the first fall on or after the date.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, Date32Array, Int32Array, Int64Array, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use p20w_privacy::linkage::{Encoder, Identity};
use p20w_privacy::{MasterKey, Pseudonymizer, canonical_ssn};
use p20w_schemas::{
    CteProgramCatalog, Date, IdType, RaceFlags, YearQuarter, derive_race_ethnicity,
};

type Kernel = Arc<dyn Fn(&[ArrayRef]) -> Result<ArrayRef> + Send + Sync>;

/// A named, immutable, row-wise function. Equality and hashing go by name: the session holds
/// one function per name.
struct P20wUdf {
    name: String,
    signature: Signature,
    returns: DataType,
    kernel: Kernel,
}

impl std::fmt::Debug for P20wUdf {
    // Hand-written so no key material can reach EXPLAIN output or logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name)
    }
}

impl PartialEq for P20wUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for P20wUdf {}
impl Hash for P20wUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for P20wUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.returns.clone())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        Ok(ColumnarValue::Array((self.kernel)(&arrays)?))
    }
}

fn udf(name: &str, signature: Signature, returns: DataType, kernel: Kernel) -> ScalarUDF {
    ScalarUDF::from(P20wUdf {
        name: name.to_string(),
        signature,
        returns,
        kernel,
    })
}

/// Any of the three string layouts, `n` arguments, all the same layout.
fn strings(n: usize) -> Signature {
    let one = |t: DataType| TypeSignature::Exact(vec![t; n]);
    Signature::one_of(
        vec![
            one(DataType::Utf8),
            one(DataType::Utf8View),
            one(DataType::LargeUtf8),
        ],
        Volatility::Immutable,
    )
}

fn as_utf8(a: &ArrayRef) -> Result<ArrayRef> {
    Ok(if a.data_type() == &DataType::Utf8 {
        a.clone()
    } else {
        cast(a, &DataType::Utf8)?
    })
}

/// Applies `f` row by row over string arguments; NULL arguments arrive as `None`.
fn map_strings(f: impl Fn(&[Option<&str>]) -> Option<String> + Send + Sync + 'static) -> Kernel {
    Arc::new(move |arrays: &[ArrayRef]| {
        let utf8: Vec<ArrayRef> = arrays.iter().map(as_utf8).collect::<Result<_>>()?;
        let cols: Vec<&StringArray> = utf8.iter().map(|a| a.as_string::<i32>()).collect();
        let rows = cols.first().map_or(0, |c| c.len());
        let mut row = Vec::with_capacity(cols.len());
        let out: StringArray = (0..rows)
            .map(|i| {
                row.clear();
                row.extend(cols.iter().map(|c| c.is_valid(i).then(|| c.value(i))));
                f(&row)
            })
            .collect();
        Ok(Arc::new(out) as ArrayRef)
    })
}

/// The pseudonym function for one identifier type under one agreement.
pub fn pseudonym_udf(key: &MasterKey, agreement_id: &str, id_type: IdType) -> ScalarUDF {
    let p = Pseudonymizer::new(key, agreement_id, id_type);
    let kernel: Kernel = Arc::new(move |arrays: &[ArrayRef]| {
        let [values] = arrays else {
            return exec_err!("a pseudonym function takes one argument");
        };
        Ok(p.pseudonymize_array(values.as_ref())? as ArrayRef)
    });
    udf(
        &pseudonym_function(id_type),
        strings(1),
        DataType::Utf8,
        kernel,
    )
}

/// `p20w_linkage_encoding` under one agreement: arguments of any type that casts to text (a
/// birth date arrives as a date, an absent field as NULL).
pub fn linkage_encoding_udf(encoder: Arc<Encoder>) -> ScalarUDF {
    let kernel: Kernel = Arc::new(move |arrays: &[ArrayRef]| {
        let [given, family, birth, sex] = arrays else {
            return exec_err!("p20w_linkage_encoding takes four arguments");
        };
        let text = |a: &ArrayRef| as_utf8(a);
        let (given, family, birth, sex) = (text(given)?, text(family)?, text(birth)?, text(sex)?);
        let cols = [&given, &family, &birth, &sex].map(|a| a.as_string::<i32>());
        fn value(c: &StringArray, i: usize) -> &str {
            if c.is_valid(i) { c.value(i) } else { "" }
        }
        let out: BinaryArray = (0..given.len())
            .map(|i| {
                let [g, f, b, x] = cols.map(|c| value(c, i));
                let blank = |v: &str| v.trim().is_empty();
                if blank(g) && blank(f) && blank(b) {
                    return None;
                }
                let id = Identity {
                    given_name: g,
                    family_name: f,
                    birth_date: b,
                    sex: x,
                    ..Identity::default()
                };
                Some(encoder.encode(&id).to_bytes())
            })
            .collect();
        Ok(Arc::new(out) as ArrayRef)
    });
    udf(
        LINKAGE_ENCODING_FUNCTION,
        Signature::any(4, Volatility::Immutable),
        DataType::Binary,
        kernel,
    )
}

pub const LINKAGE_ENCODING_FUNCTION: &str = "p20w_linkage_encoding";

pub fn pseudonym_function(id_type: IdType) -> String {
    format!("p20w_pseudonym_{}", id_type.as_str())
}

fn date_kernel(f: impl Fn(Date) -> i32 + Send + Sync + 'static, to_date: bool) -> Kernel {
    Arc::new(move |arrays: &[ArrayRef]| {
        let [dates] = arrays else {
            return exec_err!("takes one date");
        };
        let dates = dates.as_primitive::<Date32Type>();
        let mapped = dates.iter().map(|d| d.map(|d| f(Date::from_days(d))));
        Ok(if to_date {
            Arc::new(mapped.collect::<Date32Array>()) as ArrayRef
        } else {
            Arc::new(mapped.collect::<Int32Array>()) as ArrayRef
        })
    })
}

/// The first 8 bytes of SHA-256 of the pseudonym: uniform whatever the pseudonym's layout.
fn person_fingerprint(pid: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(pid.as_bytes());
    i64::from_le_bytes(digest[..8].try_into().expect("32-byte digest"))
}

/// Registers every function that needs no key.
pub fn register_model_functions(ctx: &SessionContext) {
    // The shipped catalogue until a run registers its job's own (register_catalog_functions).
    register_catalog_functions(ctx, Arc::new(CteProgramCatalog::builtin().clone()));
    ctx.register_udf(udf(
        "p20w_canonical_ssn",
        strings(1),
        DataType::Utf8,
        map_strings(|v| v[0].and_then(|s| canonical_ssn(s).0)),
    ));
    ctx.register_udf(udf(
        "p20w_ssn_status",
        strings(1),
        DataType::Utf8,
        map_strings(|v| Some(canonical_ssn(v[0].unwrap_or("")).1.as_str().to_string())),
    ));
    ctx.register_udf(udf(
        "p20w_race_ethnicity",
        strings(6),
        DataType::Utf8,
        map_strings(|v| {
            let g = |i: usize| v[i].unwrap_or("NotSelected");
            Some(
                derive_race_ethnicity(RaceFlags {
                    hispanic_or_latino: g(0),
                    american_indian_or_alaska_native: g(1),
                    asian: g(2),
                    black_or_african_american: g(3),
                    native_hawaiian_or_other_pacific_islander: g(4),
                    white: g(5),
                })
                .to_string(),
            )
        }),
    ));
    ctx.register_udf(udf(
        "p20w_person_fingerprint",
        strings(1),
        DataType::Int64,
        Arc::new(|arrays: &[ArrayRef]| {
            let [pids] = arrays else {
                return exec_err!("p20w_person_fingerprint takes one argument");
            };
            let pids = as_utf8(pids)?;
            let out: Int64Array = pids
                .as_string::<i32>()
                .iter()
                .map(|p| p.map(person_fingerprint))
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    ));
    let one_date = || Signature::exact(vec![DataType::Date32], Volatility::Immutable);
    ctx.register_udf(udf(
        "p20w_quarter_index",
        one_date(),
        DataType::Int32,
        date_kernel(|d| YearQuarter::of(d).index(), false),
    ));
    ctx.register_udf(udf(
        "p20w_fall_census",
        one_date(),
        DataType::Date32,
        date_kernel(|d| d.next_fall_census().to_days(), true),
    ));
}

/// The functions that read the CTE programme catalogue; a session registers them with the
/// catalogue in force (the job's own, or the shipped one) before any measure runs.
pub fn register_catalog_functions(ctx: &SessionContext, catalog: Arc<CteProgramCatalog>) {
    let clusters = catalog.clone();
    ctx.register_udf(udf(
        "p20w_nontraditional",
        strings(2),
        DataType::Utf8,
        map_strings(move |v| {
            Some(
                catalog
                    .nontraditional_status(v[0], v[1].unwrap_or("NotSelected"))
                    .to_string(),
            )
        }),
    ));
    ctx.register_udf(udf(
        "p20w_career_cluster",
        strings(1),
        DataType::Utf8,
        map_strings(move |v| {
            v[0].and_then(|c| clusters.get(c))
                .map(|p| p.career_cluster.clone())
        }),
    ));
}

/// Registers the pseudonym functions of every identifier type, and the linkage encoding, for
/// one agreement.
pub fn register_pseudonym_functions(ctx: &SessionContext, key: &MasterKey, agreement_id: &str) {
    for id_type in [
        IdType::Ssn,
        IdType::StateStudentId,
        IdType::InstitutionStudentId,
    ] {
        ctx.register_udf(pseudonym_udf(key, agreement_id, id_type));
    }
    let encoder = Arc::new(Encoder::new(key, agreement_id));
    ctx.register_udf(linkage_encoding_udf(encoder));
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{LargeStringArray, RecordBatch, StringViewArray};
    use datafusion::arrow::datatypes::{Field, Schema};

    fn key() -> MasterKey {
        MasterKey::from_bytes((0u8..32).collect(), "test").unwrap()
    }

    /// The UDF gives the README's test vector whichever string layout the column has.
    #[tokio::test]
    async fn pseudonym_udf_over_all_string_layouts() {
        let ctx = SessionContext::new();
        register_pseudonym_functions(&ctx, &key(), "demo-mou-2026");
        let values = vec![Some("001010001"), None];
        let columns: Vec<(DataType, ArrayRef)> = vec![
            (DataType::Utf8, Arc::new(StringArray::from(values.clone()))),
            (
                DataType::LargeUtf8,
                Arc::new(LargeStringArray::from(values.clone())),
            ),
            (
                DataType::Utf8View,
                Arc::new(StringViewArray::from(values.clone())),
            ),
        ];
        for (t, array) in columns {
            let schema = Arc::new(Schema::new(vec![Field::new("ssn", t.clone(), true)]));
            let batch = RecordBatch::try_new(schema, vec![array]).unwrap();
            ctx.deregister_table("t").unwrap();
            ctx.register_batch("t", batch).unwrap();
            let out = ctx
                .sql("SELECT p20w_pseudonym_ssn(ssn) AS p FROM t")
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
            let p = out[0].column(0).as_string::<i32>();
            assert_eq!(
                p.value(0),
                "ae0a73d24977f82b7f2ca051d0ed16e0e6c2be856465958c8ae36427d67a9581",
                "{t}"
            );
            assert!(p.is_null(1), "{t}");
        }
    }

    #[tokio::test]
    async fn model_functions_in_sql() {
        let ctx = SessionContext::new();
        register_model_functions(&ctx);
        let sql = "SELECT p20w_canonical_ssn('219-45-7880') AS c, p20w_ssn_status('123-45-6789') AS s, \
                   p20w_race_ethnicity('No','No','Yes','No','No','Yes') AS r, \
                   p20w_nontraditional('48.0508', 'Female') AS n, p20w_career_cluster('48.0508') AS k, \
                   p20w_quarter_index(DATE '2022-11-15') AS q, \
                   CAST(p20w_fall_census(DATE '2023-06-02') AS VARCHAR) AS f";
        let b = &ctx.sql(sql).await.unwrap().collect().await.unwrap()[0];
        let s = |i: usize| {
            as_utf8(b.column(i))
                .unwrap()
                .as_string::<i32>()
                .value(0)
                .to_string()
        };
        assert_eq!(s(0), "219457880");
        assert_eq!(s(1), "placeholder");
        assert_eq!(s(2), "DemographicRaceTwoOrMoreRaces");
        assert_eq!(s(3), "Underrepresented");
        assert_eq!(s(4), "13");
        assert_eq!(
            b.column(5)
                .as_primitive::<datafusion::arrow::datatypes::Int32Type>()
                .value(0),
            2022 * 4 + 3
        );
        assert_eq!(s(6), "2023-10-01");
    }
}
