//! The Mesos text syntax for resources and attributes:
//! `cpus:4;mem:8192;ports:[31000-32000,33000-33010];zones:{a,b}`.
//!
//! A text is `;`-separated parts, each `name:value`; whitespace around any
//! token is ignored, and blank parts (a trailing `;`) are skipped, as Mesos
//! does. A value is a range list in `[...]`, a set in `{...}`, a plain
//! decimal number, or (attributes only) text. Every mistake is reported as a
//! [`ResourceError`] naming the resource and the text at fault; no input
//! panics.

use std::collections::BTreeSet;
use std::str::FromStr;

use super::error::ResourceError;
use super::ranges::RangeSet;
use super::scalar::{parse_decimal, DecimalError, Scalar};
use super::sets::StringSet;
use super::Resources;

/// One parsed value. Resources refuse `Text`; attributes take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    /// A plain decimal.
    Scalar(Scalar),
    /// `[a-b,...]`.
    Ranges(RangeSet),
    /// `{x,...}`.
    Set(StringSet),
    /// Anything else that starts with no bracket.
    Text(String),
}

/// Characters that a name may not hold: the syntax's separators and
/// brackets (a `(` would read as a role), and whitespace, which the parser
/// trims.
const NAME_FORBIDDEN: &str = ";:,[]{}()";

/// Characters that a set item may not hold: the separators and brackets
/// that would end or confuse the set.
const ITEM_FORBIDDEN: &str = ";,[]{}";

/// The non-blank `;`-separated parts of `text`.
pub(super) fn parts(text: &str) -> impl Iterator<Item = &str> {
    text.split(';').filter(|part| !part.trim().is_empty())
}

/// Splits a part at its first colon into a trimmed name and value.
pub(super) fn split_part(part: &str) -> Result<(&str, &str), ResourceError> {
    let (name, value) = part
        .split_once(':')
        .ok_or_else(|| ResourceError::MissingColon {
            part: part.trim().to_owned(),
        })?;
    let name = name.trim();
    if name.is_empty() {
        return Err(ResourceError::EmptyName {
            part: part.trim().to_owned(),
        });
    }
    Ok((name, value.trim()))
}

/// Checks that `name` can be written in the text syntax and read back.
pub(super) fn check_name(name: &str) -> Result<(), ResourceError> {
    let bad = |c: char| c.is_whitespace() || c.is_control() || NAME_FORBIDDEN.contains(c);
    if name.is_empty() || name.chars().any(bad) {
        return Err(ResourceError::BadName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Checks that `item` can be written in a set of resource `name` and read
/// back.
pub(super) fn check_item(name: &str, item: &str) -> Result<(), ResourceError> {
    let bad = |c: char| c.is_control() || ITEM_FORBIDDEN.contains(c);
    if item.is_empty() || item.trim() != item || item.chars().any(bad) {
        return Err(ResourceError::BadItem {
            name: name.to_owned(),
            item: item.to_owned(),
        });
    }
    Ok(())
}

/// Reads a trimmed value of resource (or attribute) `name`.
pub(super) fn parse_value(name: &str, value: &str) -> Result<Value, ResourceError> {
    match value.chars().next() {
        None => Err(ResourceError::EmptyValue {
            name: name.to_owned(),
        }),
        Some('[') => parse_ranges(name, bracketed(name, value, ']')?).map(Value::Ranges),
        Some('{') => parse_set(name, bracketed(name, value, '}')?).map(Value::Set),
        Some(']' | '}' | '(' | ')' | '<' | '>') => Err(ResourceError::UnknownBracket {
            name: name.to_owned(),
            value: value.to_owned(),
        }),
        Some(_) => parse_bare(name, value),
    }
}

/// The text between a value's opening bracket (its first, one-byte
/// character) and the first `close`; nothing but whitespace may follow.
fn bracketed<'a>(name: &str, value: &'a str, close: char) -> Result<&'a str, ResourceError> {
    let inner = &value[1..];
    let end = inner
        .find(close)
        .ok_or_else(|| ResourceError::UnclosedBracket {
            name: name.to_owned(),
            value: value.to_owned(),
        })?;
    let junk = inner[end + 1..].trim();
    if !junk.is_empty() {
        return Err(ResourceError::TrailingJunk {
            name: name.to_owned(),
            junk: junk.to_owned(),
        });
    }
    Ok(&inner[..end])
}

/// `a-b,c-d,e` (without brackets); overlapping or repeated ranges merge.
fn parse_ranges(name: &str, inner: &str) -> Result<RangeSet, ResourceError> {
    if inner.trim().is_empty() {
        return Ok(RangeSet::new());
    }
    let ranges = inner
        .split(',')
        .map(|element| parse_range(name, element.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ranges.into_iter().collect())
}

/// `a-b`, or `a` alone for the single value `a-a`.
fn parse_range(name: &str, element: &str) -> Result<std::ops::RangeInclusive<u64>, ResourceError> {
    let (start, end) = element.split_once('-').unwrap_or((element, element));
    let start = parse_bound(name, element, start.trim())?;
    let end = parse_bound(name, element, end.trim())?;
    if start > end {
        return Err(ResourceError::InvertedRange {
            name: name.to_owned(),
            start,
            end,
        });
    }
    Ok(start..=end)
}

/// One bound of a range: ASCII digits only, so `-1` or `+1` are malformed
/// rather than silently read.
fn parse_bound(name: &str, element: &str, bound: &str) -> Result<u64, ResourceError> {
    if bound.is_empty() || !bound.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ResourceError::BadRange {
            name: name.to_owned(),
            range: element.to_owned(),
        });
    }
    bound.parse().map_err(|_| ResourceError::TooLarge {
        name: name.to_owned(),
        value: bound.to_owned(),
    })
}

/// `x,y` (without braces); repeated items count once.
fn parse_set(name: &str, inner: &str) -> Result<StringSet, ResourceError> {
    if inner.trim().is_empty() {
        return Ok(StringSet::new());
    }
    let mut set = StringSet::new();
    for item in inner.split(',').map(str::trim) {
        check_item(name, item)?;
        set.insert(item);
    }
    Ok(set)
}

/// A value with no bracket: a decimal if it reads as one, otherwise text.
fn parse_bare(name: &str, value: &str) -> Result<Value, ResourceError> {
    match parse_decimal(value) {
        Ok(amount) => Ok(Value::Scalar(amount)),
        Err(DecimalError::Negative) => Err(ResourceError::Negative {
            name: name.to_owned(),
            value: value.to_owned(),
        }),
        Err(DecimalError::TooLarge) => Err(ResourceError::TooLarge {
            name: name.to_owned(),
            value: value.to_owned(),
        }),
        Err(DecimalError::Malformed) => Ok(Value::Text(value.to_owned())),
    }
}

/// Removes Mesos's default-role suffix `(*)` from a resource name; any other
/// role is refused, since Corral has no reservations yet.
fn strip_default_role(name: &str) -> Result<&str, ResourceError> {
    let Some((base, rest)) = name.split_once('(') else {
        return Ok(name);
    };
    match rest.strip_suffix(')') {
        Some(role) if role.trim() == "*" => Ok(base.trim_end()),
        Some(role) => Err(ResourceError::UnsupportedRole {
            name: base.trim_end().to_owned(),
            role: role.to_owned(),
        }),
        None => Err(ResourceError::BadName {
            name: name.to_owned(),
        }),
    }
}

impl Resources {
    /// Reads the Mesos text form, e.g.
    /// `cpus:4;mem:8192;disk:1000;ports:[31000-32000,33000-33010];gpus:1;zones:{a,b}`.
    ///
    /// Scalars are plain decimals rounded to three places; ranges are
    /// `[a-b,...]` (a single `a` means `a-a`; overlapping ranges merge);
    /// sets are `{x,...}`. A name may carry Mesos's default role, `cpus(*)`.
    /// Zero amounts and empty lists parse but are not stored, so
    /// `cpus:0` is the empty bundle. Unlike Mesos, which adds a name given
    /// twice, a repeated name is an error: in a flag it is almost always a
    /// typo.
    pub fn parse(text: &str) -> Result<Resources, ResourceError> {
        let mut out = Resources::empty();
        let mut seen = BTreeSet::new();
        for part in parts(text) {
            let (name, value) = split_part(part)?;
            let name = strip_default_role(name)?;
            if name.is_empty() {
                return Err(ResourceError::EmptyName {
                    part: part.trim().to_owned(),
                });
            }
            check_name(name)?;
            if !seen.insert(name) {
                return Err(ResourceError::DuplicateName {
                    name: name.to_owned(),
                });
            }
            out.insert_parsed(name, parse_value(name, value)?)?;
        }
        Ok(out)
    }

    /// Stores one parsed value under a name not seen before.
    fn insert_parsed(&mut self, name: &str, value: Value) -> Result<(), ResourceError> {
        match value {
            Value::Scalar(amount) if amount.is_zero() => {}
            Value::Scalar(amount) => {
                self.scalars.insert(name.into(), amount.millis());
            }
            Value::Ranges(ranges) if ranges.is_empty() => {}
            Value::Ranges(ranges) => {
                self.ranges.insert(name.into(), ranges);
            }
            Value::Set(set) if set.is_empty() => {}
            Value::Set(set) => {
                self.sets.insert(name.into(), set);
            }
            // Mesos has text only in attributes; a resource must be counted.
            Value::Text(text) => {
                return Err(ResourceError::BadNumber {
                    name: name.to_owned(),
                    value: text,
                })
            }
        }
        Ok(())
    }
}

impl FromStr for Resources {
    type Err = ResourceError;

    /// Same as [`Resources::parse`], for `str::parse` and flag parsers.
    fn from_str(text: &str) -> Result<Resources, ResourceError> {
        Resources::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::resources::strategies::arb_resources;

    fn bad(text: &str) -> ResourceError {
        match Resources::parse(text) {
            Ok(r) => panic!("{text:?} parsed as {r}"),
            Err(e) => e,
        }
    }

    fn s(text: &str) -> String {
        text.to_owned()
    }

    #[test]
    fn the_mesos_example_parses_and_prints_in_name_order() {
        let r = Resources::parse(
            "cpus:4;mem:8192;disk:1000;ports:[31000-32000,33000-33010];gpus:1;zones:{a,b}",
        )
        .unwrap();
        assert_eq!(r.cpus(), 4.0);
        assert_eq!(r.mem_mb(), 8192.0);
        assert_eq!(r.get("disk"), 1000.0);
        assert_eq!(r.get("gpus"), 1.0);
        assert_eq!(r.ranges("ports").count(), 1001 + 11);
        assert!(r.set("zones").contains_item("b"));
        assert_eq!(
            r.to_string(),
            "cpus:4;disk:1000;gpus:1;mem:8192;ports:[31000-32000,33000-33010];zones:{a,b}"
        );
    }

    #[test]
    fn good_texts_read_as_expected() {
        // (input, its canonical text)
        let table = [
            ("", ""),
            ("  ", ""),
            ("cpus:4", "cpus:4"),
            (" cpus : 4 ; mem : 8192 ", "cpus:4;mem:8192"),
            ("cpus:4;", "cpus:4"),
            (";;cpus:4;;", "cpus:4"),
            ("cpus:0.5", "cpus:0.5"),
            ("cpus:.25", "cpus:0.25"),
            ("cpus:1.0000", "cpus:1"),
            ("cpus:0.12345", "cpus:0.123"),
            ("cpus:0.0005", "cpus:0.001"),
            ("cpus:0", ""),
            ("cpus:0.0001", ""),
            ("cpus(*):2", "cpus:2"),
            ("cpus ( * ) :2", "cpus:2"),
            ("ports:[]", ""),
            ("ports:[ ]", ""),
            ("ports:[1-2]", "ports:[1-2]"),
            ("ports:[ 1 - 2 , 5 ]", "ports:[1-2,5-5]"),
            ("ports:[5-9,1-3,4-4,8-12]", "ports:[1-12]"),
            ("ports:[1-2,1-2]", "ports:[1-2]"),
            (
                "ports:[0-18446744073709551615]",
                "ports:[0-18446744073709551615]",
            ),
            ("ports:[1-2]  ", "ports:[1-2]"),
            ("zones:{}", ""),
            ("zones:{ b , a ,a}", "zones:{a,b}"),
            ("paths:{/dev/sda,/mnt/x y}", "paths:{/dev/sda,/mnt/x y}"),
            ("endpoints:{host:5051}", "endpoints:{host:5051}"),
            ("b:1;a:2;c:[1-1]", "a:2;b:1;c:[1-1]"),
            ("my-res.v2:3", "my-res.v2:3"),
            ("cpus:18446744073709551.615", "cpus:18446744073709551.615"),
        ];
        for (text, want) in table {
            match Resources::parse(text) {
                Ok(r) => assert_eq!(r.to_string(), want, "parsing {text:?}"),
                Err(e) => panic!("{text:?} failed: {e}"),
            }
        }
    }

    #[test]
    fn bad_texts_say_what_is_wrong() {
        use ResourceError::*;
        // One line per case reads as a table; rustfmt would spread each
        // error over seven lines.
        #[rustfmt::skip]
        let table = [
            (":4", EmptyName { part: s(":4") }),
            (" : 4 ;mem:1", EmptyName { part: s(": 4") }),
            ("(*):4", EmptyName { part: s("(*):4") }),
            ("cpus", MissingColon { part: s("cpus") }),
            ("cpus:4;mem", MissingColon { part: s("mem") }),
            ("cp us:4", BadName { name: s("cp us") }),
            ("cpus,mem:4", BadName { name: s("cpus,mem") }),
            ("cpus[0]:4", BadName { name: s("cpus[0]") }),
            ("cpus(*:4", BadName { name: s("cpus(*") }),
            ("cpus(web):4", UnsupportedRole { name: s("cpus"), role: s("web") }),
            ("cpus:1;cpus:2", DuplicateName { name: s("cpus") }),
            ("cpus:1; cpus(*) :0", DuplicateName { name: s("cpus") }),
            ("p:1;p:[1-2]", DuplicateName { name: s("p") }),
            ("cpus:", EmptyValue { name: s("cpus") }),
            ("cpus:  ;mem:1", EmptyValue { name: s("cpus") }),
            ("cpus:four", BadNumber { name: s("cpus"), value: s("four") }),
            ("cpus:1.2.3", BadNumber { name: s("cpus"), value: s("1.2.3") }),
            ("cpus:1e3", BadNumber { name: s("cpus"), value: s("1e3") }),
            ("cpus:4 5", BadNumber { name: s("cpus"), value: s("4 5") }),
            ("cpus:4:5", BadNumber { name: s("cpus"), value: s("4:5") }),
            ("cpus:NaN", BadNumber { name: s("cpus"), value: s("NaN") }),
            ("disk:text", BadNumber { name: s("disk"), value: s("text") }),
            ("cpus:-1", Negative { name: s("cpus"), value: s("-1") }),
            ("mem:-0.5", Negative { name: s("mem"), value: s("-0.5") }),
            ("cpus:18446744073709552", TooLarge { name: s("cpus"), value: s("18446744073709552") }),
            ("ports:[1-18446744073709551616]",
                TooLarge { name: s("ports"), value: s("18446744073709551616") }),
            ("ports:[1-]", BadRange { name: s("ports"), range: s("1-") }),
            ("ports:[-5]", BadRange { name: s("ports"), range: s("-5") }),
            ("ports:[1-2-3]", BadRange { name: s("ports"), range: s("1-2-3") }),
            ("ports:[a-b]", BadRange { name: s("ports"), range: s("a-b") }),
            ("ports:[1-2,]", BadRange { name: s("ports"), range: s("") }),
            ("ports:[1-2,,3]", BadRange { name: s("ports"), range: s("") }),
            ("ports:[+1-2]", BadRange { name: s("ports"), range: s("+1-2") }),
            ("ports:[{1-2}]", BadRange { name: s("ports"), range: s("{1-2}") }),
            ("ports:[5-1]", InvertedRange { name: s("ports"), start: 5, end: 1 }),
            ("ports:(1-2)", UnknownBracket { name: s("ports"), value: s("(1-2)") }),
            ("ports:<1-2>", UnknownBracket { name: s("ports"), value: s("<1-2>") }),
            ("ports:]1-2[", UnknownBracket { name: s("ports"), value: s("]1-2[") }),
            ("zones:}a{", UnknownBracket { name: s("zones"), value: s("}a{") }),
            ("ports:[1-2", UnclosedBracket { name: s("ports"), value: s("[1-2") }),
            ("ports:[1-2;mem:1]", UnclosedBracket { name: s("ports"), value: s("[1-2") }),
            ("zones:{a,b", UnclosedBracket { name: s("zones"), value: s("{a,b") }),
            ("ports:[1-2]x", TrailingJunk { name: s("ports"), junk: s("x") }),
            ("ports:[1-2] [3-4]", TrailingJunk { name: s("ports"), junk: s("[3-4]") }),
            ("ports:[[1-2]]", TrailingJunk { name: s("ports"), junk: s("]") }),
            ("zones:{a}}", TrailingJunk { name: s("zones"), junk: s("}") }),
            ("zones:{a,,b}", BadItem { name: s("zones"), item: s("") }),
            ("zones:{a,}", BadItem { name: s("zones"), item: s("") }),
            ("zones:{a{b}", BadItem { name: s("zones"), item: s("a{b") }),
            ("zones:{a[1]}", BadItem { name: s("zones"), item: s("a[1]") }),
            ("zones:{a\tb}", BadItem { name: s("zones"), item: s("a\tb") }),
        ];
        for (text, want) in table {
            assert_eq!(bad(text), want, "parsing {text:?}");
        }
    }

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(
            bad("ports:[5-1]").to_string(),
            "\"ports\" has the inverted range 5-1"
        );
        assert_eq!(
            bad("cpus:1;cpus:2").to_string(),
            "\"cpus\" is given more than once"
        );
    }

    #[test]
    fn from_str_is_parse() {
        let r: Resources = "cpus:1;ports:[1-2]".parse().unwrap();
        assert_eq!(Ok(r), Resources::parse("cpus:1;ports:[1-2]"));
    }

    proptest! {
        #[test]
        fn display_reads_back(r in arb_resources()) {
            let text = r.to_string();
            prop_assert_eq!(Resources::parse(&text), Ok(r), "text {:?}", text);
        }

        #[test]
        fn arbitrary_strings_never_panic(text in any::<String>()) {
            let _ = Resources::parse(&text);
        }

        /// Strings made of the syntax's own characters reach far deeper
        /// than arbitrary Unicode; whatever parses must print to a text that
        /// reads back to the same bundle.
        #[test]
        fn syntax_soup_never_panics_and_what_parses_reads_back(
            text in r"[a-c0-9:;,\[\]{}()<>*. \-]{0,40}"
        ) {
            if let Ok(r) = Resources::parse(&text) {
                prop_assert_eq!(Resources::parse(&r.to_string()), Ok(r));
            }
        }
    }
}
