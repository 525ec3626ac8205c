//! Agent attributes: facts about a machine that are not consumed, such as
//! `rack:r1;zone:us-east;level:3;slots:[1-4];tags:{ssd,gpu}`.
//!
//! Mesos agents declare them with `--attributes`; masters show them and
//! frameworks place tasks with them (constraints). They share the resource
//! syntax, except that a value that is neither a number nor bracketed is
//! text, as in Mesos. Attributes are never added or subtracted, so there is
//! no arithmetic here.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use super::error::ResourceError;
use super::parse::{check_item, check_name, parse_value, parts, split_part, Value};
use super::ranges::RangeSet;
use super::scalar::Scalar;
use super::sets::StringSet;

/// The value of one attribute.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AttrValue {
    /// Free text such as `us-east`. It must read back as text: not empty,
    /// no `;` or edge whitespace, no leading bracket, not a number.
    Text(String),
    /// A number such as `3` or `2.4`, three decimals exact.
    Scalar(Scalar),
    /// Ranges such as `[1-4]`.
    Ranges(RangeSet),
    /// A set such as `{ssd,gpu}`.
    Set(StringSet),
}

impl fmt::Display for AttrValue {
    /// The value as written in the attribute syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Text(text) => f.write_str(text),
            AttrValue::Scalar(amount) => amount.fmt(f),
            AttrValue::Ranges(ranges) => ranges.fmt(f),
            AttrValue::Set(set) => set.fmt(f),
        }
    }
}

/// An agent's attributes by name, kept in name order so their text form is
/// canonical. Unlike Mesos, which keeps repeats in the order given, a name
/// appears at most once: a constraint on `rack` must know which rack.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Attributes {
    values: BTreeMap<String, AttrValue>,
}

impl Attributes {
    /// No attributes.
    pub fn new() -> Attributes {
        Attributes::default()
    }

    /// Reads the Mesos text form, e.g. `rack:r1;zone:us-east;level:3`.
    ///
    /// A value in `[...]` is ranges, in `{...}` a set, a plain decimal is a
    /// scalar, and anything else is text (so `version:1.2.3` is text).
    /// Negative numbers are refused rather than read as text, since Corral
    /// scalars are non-negative and `-3` as text would surprise. Errors are
    /// those of [`Resources::parse`](super::Resources::parse), less roles,
    /// which attributes do not have.
    pub fn parse(text: &str) -> Result<Attributes, ResourceError> {
        let mut out = Attributes::new();
        for part in parts(text) {
            let (name, value) = split_part(part)?;
            check_name(name)?;
            if out.values.contains_key(name) {
                return Err(ResourceError::DuplicateName {
                    name: name.to_owned(),
                });
            }
            let value = match parse_value(name, value)? {
                Value::Text(text) => AttrValue::Text(text),
                Value::Scalar(amount) => AttrValue::Scalar(amount),
                Value::Ranges(ranges) => AttrValue::Ranges(ranges),
                Value::Set(set) => AttrValue::Set(set),
            };
            out.values.insert(name.to_owned(), value);
        }
        Ok(out)
    }

    /// Sets attribute `name` to `value`, returning the value it replaces.
    /// Refuses a name or value that could not be written in the text syntax
    /// and read back the same.
    pub fn insert(
        &mut self,
        name: &str,
        value: AttrValue,
    ) -> Result<Option<AttrValue>, ResourceError> {
        check_name(name)?;
        check_value(name, &value)?;
        Ok(self.values.insert(name.to_owned(), value))
    }

    /// These attributes with `name` set to `value`; see [`Attributes::insert`].
    pub fn with(mut self, name: &str, value: AttrValue) -> Result<Attributes, ResourceError> {
        self.insert(name, value)?;
        Ok(self)
    }

    /// The value of attribute `name`, if the agent has it.
    pub fn get(&self, name: &str) -> Option<&AttrValue> {
        self.values.get(name)
    }

    /// The text of attribute `name`, if it is a text attribute.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.values.get(name)? {
            AttrValue::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The attributes in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &AttrValue)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many attributes there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no attributes.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Checks that `value` would print to a text that reads back as itself.
fn check_value(name: &str, value: &AttrValue) -> Result<(), ResourceError> {
    match value {
        AttrValue::Text(text) => {
            // The parser is the definition of what reads back as text.
            let reads_back = !text.contains(';')
                && text.trim() == text
                && matches!(parse_value(name, text), Ok(Value::Text(t)) if t == *text);
            if reads_back {
                Ok(())
            } else {
                Err(ResourceError::BadText {
                    name: name.to_owned(),
                    text: text.clone(),
                })
            }
        }
        AttrValue::Set(set) => set.iter().try_for_each(|item| check_item(name, item)),
        AttrValue::Scalar(_) | AttrValue::Ranges(_) => Ok(()),
    }
}

impl fmt::Display for Attributes {
    /// The Mesos text form in name order, e.g. `level:3;rack:r1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{name}:{value}")?;
        }
        Ok(())
    }
}

impl FromStr for Attributes {
    type Err = ResourceError;

    /// Same as [`Attributes::parse`].
    fn from_str(text: &str) -> Result<Attributes, ResourceError> {
        Attributes::parse(text)
    }
}

impl<'de> Deserialize<'de> for Attributes {
    /// Reads the map and checks each entry as [`Attributes::insert`] does, so
    /// attributes from a peer always print and read back.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Attributes, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename = "Attributes")]
        struct Wire {
            values: BTreeMap<String, AttrValue>,
        }
        let wire = Wire::deserialize(deserializer)?;
        let mut out = Attributes::new();
        for (name, value) in wire.values {
            out.insert(&name, value).map_err(D::Error::custom)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::resources::strategies::{arb_range_set, arb_string_set};

    fn s(text: &str) -> String {
        text.to_owned()
    }

    fn arb_value() -> impl Strategy<Value = AttrValue> {
        prop_oneof![
            "[a-z][a-z0-9 .:/_-]{0,8}[a-z0-9]".prop_map(AttrValue::Text),
            "[0-9]+\\.[0-9]+\\.[0-9]+".prop_map(AttrValue::Text),
            any::<u64>().prop_map(|m| AttrValue::Scalar(Scalar::from_millis(m))),
            arb_range_set().prop_map(AttrValue::Ranges),
            arb_string_set().prop_map(AttrValue::Set),
        ]
    }

    fn arb_attributes() -> impl Strategy<Value = Attributes> {
        prop::collection::btree_map("[a-z][a-z0-9_.-]{0,6}", arb_value(), 0..6).prop_map(|map| {
            let mut out = Attributes::new();
            for (name, value) in map {
                out.insert(&name, value).unwrap();
            }
            out
        })
    }

    #[test]
    fn each_kind_of_value_is_read() {
        let a = Attributes::parse(concat!(
            " rack : r1 ;zone:us-east;level:3;speed:2.40;slots:[1-4];",
            "tags:{ssd,gpu};version:1.2.3;url:http://x:80",
        ))
        .unwrap();
        assert_eq!(a.text("rack"), Some("r1"));
        assert_eq!(a.text("zone"), Some("us-east"));
        assert_eq!(
            a.get("level"),
            Some(&AttrValue::Scalar(Scalar::from_millis(3000)))
        );
        assert_eq!(
            a.get("speed"),
            Some(&AttrValue::Scalar(Scalar::from_millis(2400)))
        );
        assert_eq!(
            a.get("slots"),
            Some(&AttrValue::Ranges(RangeSet::from(1..=4)))
        );
        assert_eq!(a.text("version"), Some("1.2.3"));
        assert_eq!(a.text("url"), Some("http://x:80"));
        assert_eq!(a.text("level"), None);
        assert_eq!(a.len(), 8);
        assert_eq!(
            a.to_string(),
            concat!(
                "level:3;rack:r1;slots:[1-4];speed:2.4;tags:{gpu,ssd};",
                "url:http://x:80;version:1.2.3;zone:us-east"
            )
        );
        assert_eq!(Attributes::parse(""), Ok(Attributes::new()));
        assert_eq!(
            "rack:r1".parse::<Attributes>().unwrap().text("rack"),
            Some("r1")
        );
    }

    #[test]
    fn bad_texts_say_what_is_wrong() {
        use ResourceError::*;
        #[rustfmt::skip]
        let table = [
            ("rack", MissingColon { part: s("rack") }),
            (":r1", EmptyName { part: s(":r1") }),
            ("ra ck:r1", BadName { name: s("ra ck") }),
            ("rack(*):r1", BadName { name: s("rack(*)") }),
            ("rack:r1;rack:r2", DuplicateName { name: s("rack") }),
            ("rack:", EmptyValue { name: s("rack") }),
            ("level:-3", Negative { name: s("level"), value: s("-3") }),
            ("slots:[4-1]", InvertedRange { name: s("slots"), start: 4, end: 1 }),
            ("slots:[1-4", UnclosedBracket { name: s("slots"), value: s("[1-4") }),
            ("slots:[1-4]x", TrailingJunk { name: s("slots"), junk: s("x") }),
            ("rack:(r1)", UnknownBracket { name: s("rack"), value: s("(r1)") }),
            ("tags:{a,,b}", BadItem { name: s("tags"), item: s("") }),
        ];
        for (text, want) in table {
            assert_eq!(Attributes::parse(text), Err(want), "parsing {text:?}");
        }
    }

    #[test]
    fn insert_refuses_what_would_not_read_back() {
        let mut a = Attributes::new();
        for text in ["", " r1", "r1 ", "a;b", "3", "-3", "[1-2]", "{a}", "(x)"] {
            assert_eq!(
                a.insert("rack", AttrValue::Text(s(text))),
                Err(ResourceError::BadText {
                    name: s("rack"),
                    text: s(text)
                }),
                "text {text:?}"
            );
        }
        assert!(a.insert("ra:ck", AttrValue::Text(s("r1"))).is_err());
        let bad_set: StringSet = ["a,b"].into_iter().collect();
        assert!(a.insert("tags", AttrValue::Set(bad_set)).is_err());
        assert_eq!(a.insert("rack", AttrValue::Text(s("r1"))), Ok(None));
        assert_eq!(
            a.insert("rack", AttrValue::Text(s("r2"))),
            Ok(Some(AttrValue::Text(s("r1"))))
        );
        assert_eq!(a.to_string(), "rack:r2");
    }

    proptest! {
        #[test]
        fn display_reads_back(a in arb_attributes()) {
            let text = a.to_string();
            prop_assert_eq!(Attributes::parse(&text), Ok(a), "text {:?}", text);
        }

        #[test]
        fn arbitrary_strings_never_panic(text in any::<String>()) {
            let _ = Attributes::parse(&text);
        }

        #[test]
        fn syntax_soup_never_panics_and_what_parses_reads_back(
            text in r"[a-c0-9:;,\[\]{}()<>. \-]{0,40}"
        ) {
            if let Ok(a) = Attributes::parse(&text) {
                prop_assert_eq!(Attributes::parse(&a.to_string()), Ok(a));
            }
        }
    }
}
