//! Parsing and checking one field value against its [`FieldKind`].

use p20w_schemas::programs::is_cip_format;
use p20w_schemas::{CodeSets, CteProgramCatalog, Date, FieldKind, FieldSpec};

/// The validation rule a quarantined row failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    Malformed,
    FieldCount,
    Encoding,
    Required,
    Date,
    Integer,
    Range,
    Money,
    Code,
    CipFormat,
    CteProgram,
    Digits,
    /// A wage record's year and quarter name a quarter that cannot hold reported wages.
    QuarterWindow,
    /// A code neither canonical nor mapped by the source's crosswalk.
    UnmappedCode,
    /// A fixed-width record shorter or longer than its layout.
    RecordLength,
    /// A record whose type the layout does not know.
    RecordType,
    /// A record out of the order its format prescribes (an ICESA `S` before any `E`).
    RecordOrder,
    /// A record naming something (a student, an employer) that its file or source lacks.
    Reference,
    /// An exit date before the entry date of the same enrollment or participation.
    ExitBeforeEntry,
    /// An end date before the begin (start) date of the same spell or experience.
    EndBeforeBegin,
    /// A wage record received in a quarter before the one its wages were earned in.
    ReceivedBeforeQuarter,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Malformed => "malformed",
            Rule::FieldCount => "field_count",
            Rule::Encoding => "encoding",
            Rule::Required => "required",
            Rule::Date => "date",
            Rule::Integer => "integer",
            Rule::Range => "range",
            Rule::Money => "money",
            Rule::Code => "code",
            Rule::CipFormat => "cip_format",
            Rule::CteProgram => "cte_program",
            Rule::Digits => "digits",
            Rule::QuarterWindow => "quarter_window",
            Rule::UnmappedCode => "unmapped_code",
            Rule::RecordLength => "record_length",
            Rule::RecordType => "record_type",
            Rule::RecordOrder => "record_order",
            Rule::Reference => "reference",
            Rule::ExitBeforeEntry => "exit_before_entry",
            Rule::EndBeforeBegin => "end_before_begin",
            Rule::ReceivedBeforeQuarter => "received_before_quarter",
        }
    }

    /// Every rule, for tables that must cover them all (the validate tiers and their README
    /// table); a new variant goes here too (a test in the pipeline's `validate` checks it).
    pub const ALL: [Rule; 21] = [
        Rule::Malformed,
        Rule::FieldCount,
        Rule::Encoding,
        Rule::Required,
        Rule::Date,
        Rule::Integer,
        Rule::Range,
        Rule::Money,
        Rule::Code,
        Rule::CipFormat,
        Rule::CteProgram,
        Rule::Digits,
        Rule::QuarterWindow,
        Rule::UnmappedCode,
        Rule::RecordLength,
        Rule::RecordType,
        Rule::RecordOrder,
        Rule::Reference,
        Rule::ExitBeforeEntry,
        Rule::EndBeforeBegin,
        Rule::ReceivedBeforeQuarter,
    ];

    /// The rule whose id is `id`.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == id)
    }
}

/// A parsed, valid value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Text(&'a str),
    Days(i32),
    Int(i32),
    Cents(i64),
}

/// Parses one trimmed field. Errors say what was expected, never what was found.
pub(crate) fn parse<'a>(
    spec: &FieldSpec,
    raw: &'a str,
    catalog: &CteProgramCatalog,
) -> Result<Value<'a>, (Rule, String)> {
    let v = raw.trim();
    if v.is_empty() {
        return if spec.required {
            Err((Rule::Required, "is required but blank".into()))
        } else {
            Ok(Value::Null)
        };
    }
    match spec.kind {
        FieldKind::Text => Ok(Value::Text(v)),
        FieldKind::Code(set) => {
            let codes = CodeSets::builtin()
                .get(set)
                .expect("model names existing code sets");
            if codes.contains(v) {
                Ok(Value::Text(v))
            } else {
                Err((Rule::Code, format!("is not a code of set {set}")))
            }
        }
        FieldKind::CipCode if is_cip_format(v) => Ok(Value::Text(v)),
        FieldKind::CipCode => Err((Rule::CipFormat, "is not a CIP code written xx.xxxx".into())),
        FieldKind::CteProgram if catalog.get(v).is_some() => Ok(Value::Text(v)),
        FieldKind::CteProgram => Err((
            Rule::CteProgram,
            "is not a CIP code of the CTE program catalogue".into(),
        )),
        FieldKind::Date => v
            .parse::<Date>()
            .map(|d| Value::Days(d.to_days()))
            .map_err(|_| (Rule::Date, "is not a date written YYYY-MM-DD".into())),
        FieldKind::Int { min, max } => match v.parse::<i32>() {
            Ok(i) if (min..=max).contains(&i) => Ok(Value::Int(i)),
            Ok(_) => Err((Rule::Range, format!("is outside {min}..={max}"))),
            Err(_) => Err((Rule::Integer, "is not a whole number".into())),
        },
        FieldKind::Cents => parse_cents(v).map(Value::Cents).ok_or((
            Rule::Money,
            "is not an amount in dollars with at most two decimals".into(),
        )),
        FieldKind::Digits(n) if v.len() == n && v.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Value::Text(v))
        }
        FieldKind::Digits(n) => Err((Rule::Digits, format!("is not exactly {n} digits"))),
    }
}

/// `1234.5` → 123450 cents. Non-negative, at most two decimals, no thousands separators.
pub fn parse_cents(v: &str) -> Option<i64> {
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 12 || frac.len() > 2 || !digits(whole) || !digits(frac) {
        return None;
    }
    let cents = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse::<i64>().ok()?,
    };
    Some(whole.parse::<i64>().ok()? * 100 + cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_builtin<'a>(spec: &FieldSpec, raw: &'a str) -> Result<Value<'a>, (Rule, String)> {
        parse(spec, raw, CteProgramCatalog::builtin())
    }

    #[test]
    fn cents() {
        assert_eq!(parse_cents("1234.56"), Some(123_456));
        assert_eq!(parse_cents("1234.5"), Some(123_450));
        assert_eq!(parse_cents("7"), Some(700));
        assert_eq!(parse_cents("0.07"), Some(7));
        for bad in ["-1", "1,000.00", "1.234", ".5", "12a", ""] {
            assert_eq!(parse_cents(bad), None, "{bad}");
        }
    }

    #[test]
    fn field_kinds() {
        let sex = FieldSpec::new("sex", FieldKind::Code("sex"));
        assert_eq!(parse_builtin(&sex, " Female "), Ok(Value::Text("Female")));
        assert_eq!(parse_builtin(&sex, "F").unwrap_err().0, Rule::Code);
        assert_eq!(parse_builtin(&sex, "").unwrap_err().0, Rule::Required);
        assert_eq!(parse_builtin(&sex.optional(), ""), Ok(Value::Null));
        let q = FieldSpec::new("quarter", FieldKind::Int { min: 1, max: 4 });
        assert_eq!(parse_builtin(&q, "5").unwrap_err().0, Rule::Range);
        assert_eq!(parse_builtin(&q, "x").unwrap_err().0, Rule::Integer);
        let date = FieldSpec::new("d", FieldKind::Date);
        assert_eq!(parse_builtin(&date, "1970-01-02"), Ok(Value::Days(1)));
        assert_eq!(
            parse_builtin(&date, "2023-02-30").unwrap_err().0,
            Rule::Date
        );
        let fein = FieldSpec::new("fein", FieldKind::Digits(9));
        assert_eq!(
            parse_builtin(&fein, "12345678").unwrap_err().0,
            Rule::Digits
        );
        let cip = FieldSpec::new("cip", FieldKind::CteProgram);
        assert!(parse_builtin(&cip, "48.0508").is_ok());
        assert_eq!(
            parse_builtin(&cip, "99.9999").unwrap_err().0,
            Rule::CteProgram
        );
    }

    #[test]
    fn messages_never_carry_the_value() {
        let spec = FieldSpec::new("d", FieldKind::Date);
        let (_, message) = parse_builtin(&spec, "1999-13-45").unwrap_err();
        assert!(!message.contains("1999"), "{message}");
    }
}
