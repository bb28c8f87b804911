//! A fixed-width layout as data: which bytes of which record type hold which field, read from
//! a CSV table (`connectors/data/layouts/`), so a state's variant is a new table, not new code.

use std::collections::BTreeMap;

use p20w_schemas::Entity;

/// How the bytes of one field become the field's canonical text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Trimmed text (also digits-only fields; the model checks them).
    Text,
    /// A zero-filled amount with two implied decimals: `00000123456` is 1234.56.
    Cents,
    /// A reporting period `MMYYYY`: gives `year` and `quarter`.
    Mmyyyy,
    /// The last month of a quarter (`03`, `06`, `09`, `12`): gives `quarter`.
    QuarterMonth,
    /// A code, mapped by the layout's values; codes it does not list pass on unchanged (the
    /// source's crosswalk may map them).
    Code(BTreeMap<String, String>),
    /// A whole number (a total record's record count).
    Count,
}

/// One field of one record type.
#[derive(Debug, Clone)]
pub struct FieldSlice {
    pub field: String,
    /// Byte offset from the start of the record (0-based) and length in bytes.
    pub offset: usize,
    pub len: usize,
    pub kind: Kind,
}

/// The fields of every record type a layout describes.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub records: BTreeMap<String, Vec<FieldSlice>>,
}

/// The field names a layout may give besides the entity's own.
pub const PERIOD: &str = "period";
pub const TOTAL_RECORDS: &str = "wage_records";

impl Layout {
    /// Parses a layout table; `record_len` bounds every slice and `types` are the record types
    /// the format knows. Errors name the table's line.
    pub fn parse(text: &str, record_len: usize, types: &[&str]) -> Result<Layout, String> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header = reader.headers().map_err(|e| e.to_string())?.clone();
        let want = ["record_type", "field", "start", "length", "kind", "values"];
        if header.iter().collect::<Vec<_>>() != want {
            return Err(format!("the header must be {}", want.join(",")));
        }
        let fields: Vec<&str> = Entity::WageRecord.fields().iter().map(|f| f.name).collect();
        let mut layout = Layout::default();
        for (i, row) in reader.records().enumerate() {
            let line = i + 2;
            let row = row.map_err(|e| format!("line {line}: {e}"))?;
            let at = |msg: String| format!("line {line}: {msg}");
            let record = &row[0];
            if !types.contains(&record) {
                return Err(at(format!(
                    "record type {record:?} is not one of {types:?}"
                )));
            }
            let field = &row[1];
            let known = fields.contains(&field) || field == PERIOD || field == TOTAL_RECORDS;
            if !known {
                return Err(at(format!(
                    "{field:?} is not a wage_record field, {PERIOD} or {TOTAL_RECORDS}"
                )));
            }
            let start: usize = row[2]
                .parse()
                .map_err(|_| at("start is not a whole number".into()))?;
            let len: usize = row[3]
                .parse()
                .map_err(|_| at("length is not a whole number".into()))?;
            if start <= record.len() || len == 0 || start - 1 + len > record_len {
                return Err(at(format!(
                    "bytes {start}..{} are not inside a {record_len}-byte record after its type",
                    start + len.saturating_sub(1)
                )));
            }
            let values = &row[5];
            let kind = match &row[4] {
                "text" | "digits" => Kind::Text,
                "cents" => Kind::Cents,
                "mmyyyy" => Kind::Mmyyyy,
                "quarter_month" => Kind::QuarterMonth,
                "count" => Kind::Count,
                "code" => Kind::Code(code_values(values).map_err(at)?),
                other => return Err(at(format!("unknown kind {other:?}"))),
            };
            if !values.is_empty() && !matches!(kind, Kind::Code(_)) {
                return Err(at("only a code field has values".into()));
            }
            let slices = layout.records.entry(record.to_string()).or_default();
            if slices.iter().any(|s| s.field == field) {
                return Err(at(format!("{field} appears twice for record {record}")));
            }
            slices.push(FieldSlice {
                field: field.to_string(),
                offset: start - 1,
                len,
                kind,
            });
        }
        Ok(layout)
    }

    pub fn fields_of(&self, record: &str) -> &[FieldSlice] {
        self.records.get(record).map_or(&[], Vec::as_slice)
    }
}

fn code_values(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for pair in text.split(';').filter(|p| !p.trim().is_empty()) {
        let (code, canonical) = pair
            .split_once('=')
            .ok_or_else(|| "values must be code=Canonical pairs separated by ;".to_string())?;
        out.insert(code.trim().to_string(), canonical.trim().to_string());
    }
    Ok(out)
}

/// What one field's bytes say, in canonical text form.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    Blank,
    One(String),
    /// A period: year and quarter.
    Period(String, String),
}

/// Why a field's bytes could not be decoded (never carrying them).
pub type DecodeError = (crate::Rule, String);

/// Decodes one trimmed field according to its kind.
pub fn decode(kind: &Kind, raw: &str) -> Result<Decoded, DecodeError> {
    use crate::Rule;
    let v = raw.trim();
    if v.is_empty() {
        return Ok(Decoded::Blank);
    }
    let digits = v.bytes().all(|b| b.is_ascii_digit());
    let quarter_of = |month: &str| -> Option<String> {
        let m: u32 = month.parse().ok()?;
        (1..=12).contains(&m).then(|| m.div_ceil(3).to_string())
    };
    match kind {
        Kind::Text => Ok(Decoded::One(v.to_string())),
        Kind::Cents if digits && v.len() <= 14 => {
            let cents: u64 = v.parse().expect("at most 14 digits");
            Ok(Decoded::One(format!("{}.{:02}", cents / 100, cents % 100)))
        }
        Kind::Cents => Err((
            Rule::Money,
            "is not a zero-filled amount with two implied decimals".into(),
        )),
        Kind::Mmyyyy if digits && v.len() == 6 => match quarter_of(&v[0..2]) {
            Some(q) => Ok(Decoded::Period(v[2..6].to_string(), q)),
            None => Err((
                Rule::Date,
                "is not a period MMYYYY with a month 01-12".into(),
            )),
        },
        Kind::Mmyyyy => Err((
            Rule::Date,
            "is not a period MMYYYY with a month 01-12".into(),
        )),
        Kind::QuarterMonth => match quarter_of(v).filter(|_| digits && v.len() == 2) {
            Some(q) => Ok(Decoded::One(q)),
            None => Err((Rule::Date, "is not a two-digit month 01-12".into())),
        },
        Kind::Code(values) => Ok(Decoded::One(
            values.get(v).cloned().unwrap_or_else(|| v.to_string()),
        )),
        Kind::Count if digits && v.len() <= 18 => {
            let n: u64 = v.parse().expect("at most 18 digits");
            Ok(Decoded::One(n.to_string()))
        }
        Kind::Count => Err((Rule::Integer, "is not a whole number".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rule;

    #[test]
    fn kinds_decode_to_canonical_text() {
        assert_eq!(
            decode(&Kind::Cents, "00000123456"),
            Ok(Decoded::One("1234.56".into()))
        );
        assert_eq!(
            decode(&Kind::Cents, "00000000007"),
            Ok(Decoded::One("0.07".into()))
        );
        assert_eq!(decode(&Kind::Cents, "   "), Ok(Decoded::Blank));
        assert_eq!(
            decode(&Kind::Cents, "0000001234.5").unwrap_err().0,
            Rule::Money
        );
        assert_eq!(
            decode(&Kind::Mmyyyy, "092024"),
            Ok(Decoded::Period("2024".into(), "3".into()))
        );
        assert_eq!(decode(&Kind::Mmyyyy, "132024").unwrap_err().0, Rule::Date);
        assert_eq!(
            decode(&Kind::QuarterMonth, "12"),
            Ok(Decoded::One("4".into()))
        );
        assert_eq!(decode(&Kind::QuarterMonth, "1x").unwrap_err().0, Rule::Date);
        let code = Kind::Code(code_values("A=Amendment;O=Original").unwrap());
        assert_eq!(decode(&code, "A"), Ok(Decoded::One("Amendment".into())));
        assert_eq!(decode(&code, "Z"), Ok(Decoded::One("Z".into())));
    }

    #[test]
    fn bad_tables_are_refused_with_their_line() {
        let head = "record_type,field,start,length,kind,values\n";
        let parse = |rows: &str| Layout::parse(&format!("{head}{rows}"), 275, &["E", "S"]);
        assert!(parse("S,wages,64,14,cents,\n").is_ok());
        for (rows, needle) in [
            ("X,wages,64,14,cents,\n", "line 2"),
            ("S,salary,64,14,cents,\n", "salary"),
            ("S,wages,270,14,cents,\n", "inside"),
            ("S,wages,1,1,cents,\n", "inside"),
            ("S,wages,64,14,money,\n", "kind"),
            ("S,wages,64,14,cents,A=B\n", "values"),
            ("S,wages,64,14,cents,\nS,wages,78,14,cents,\n", "line 3"),
        ] {
            let err = parse(rows).unwrap_err();
            assert!(err.contains(needle), "{rows}: {err}");
        }
    }
}
