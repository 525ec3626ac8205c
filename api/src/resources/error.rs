//! Why resources or attributes could not be built or parsed.
//!
//! One enum serves resources and agent attributes because they share the
//! Mesos text syntax (`name:value;...`) and so fail in the same ways. Every
//! variant names the resource (or attribute) and the text that is wrong, so an
//! operator can find the mistake in a long `--resources` flag.

/// Why resources (or agent attributes) could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    /// A scalar was negative, not a number, or too large.
    #[error("resource {name:?} has an invalid amount {value}")]
    BadAmount {
        /// The resource name.
        name: String,
        /// The amount given.
        value: String,
    },
    /// A `name:value` part has nothing before its colon.
    #[error("{part:?} has an empty name")]
    EmptyName {
        /// The whole `;`-separated part.
        part: String,
    },
    /// A part has no colon, so it has no value.
    #[error("{part:?} is not of the form name:value")]
    MissingColon {
        /// The whole `;`-separated part.
        part: String,
    },
    /// A name holds whitespace, a control character or one of `;:,[]{}()`,
    /// which would make the text form ambiguous.
    #[error("{name:?} is not a valid name")]
    BadName {
        /// The name as given.
        name: String,
    },
    /// A name was given twice in one text.
    #[error("{name:?} is given more than once")]
    DuplicateName {
        /// The repeated name.
        name: String,
    },
    /// A name is followed by a colon and nothing else.
    #[error("{name:?} has an empty value")]
    EmptyValue {
        /// The name whose value is missing.
        name: String,
    },
    /// A scalar is not a plain decimal number such as `4`, `0.5` or `8192`.
    #[error("{name:?} has {value:?}, which is not a number")]
    BadNumber {
        /// The resource name.
        name: String,
        /// The text that should have been a number.
        value: String,
    },
    /// A scalar is below zero; amounts of resources never are.
    #[error("{name:?} has the negative amount {value:?}")]
    Negative {
        /// The resource name.
        name: String,
        /// The amount as given.
        value: String,
    },
    /// A number does not fit: scalars above 18446744073709551.615 (u64
    /// thousandths) or range bounds above 18446744073709551615 (u64).
    #[error("{name:?} has {value:?}, which is too large")]
    TooLarge {
        /// The resource name.
        name: String,
        /// The number as given.
        value: String,
    },
    /// An element of a range list is not `a-b` or `a` with `a`, `b` unsigned
    /// integers.
    #[error("{name:?} has the malformed range {range:?}")]
    BadRange {
        /// The resource name.
        name: String,
        /// The element of the list as given.
        range: String,
    },
    /// A range's start is above its end.
    #[error("{name:?} has the inverted range {start}-{end}")]
    InvertedRange {
        /// The resource name.
        name: String,
        /// The start as given.
        start: u64,
        /// The end as given, below the start.
        end: u64,
    },
    /// A value starts with a bracket other than `[` (ranges) or `{` (sets).
    #[error("{name:?} has {value:?}, which starts with an unknown bracket")]
    UnknownBracket {
        /// The resource name.
        name: String,
        /// The value as given.
        value: String,
    },
    /// A `[` or `{` is never closed.
    #[error("{name:?} has {value:?}, whose bracket is never closed")]
    UnclosedBracket {
        /// The resource name.
        name: String,
        /// The value as given.
        value: String,
    },
    /// Text follows the closing bracket of a range list or set.
    #[error("{name:?} has {junk:?} after its closing bracket")]
    TrailingJunk {
        /// The resource name.
        name: String,
        /// What follows the bracket.
        junk: String,
    },
    /// A set item is empty, has whitespace at its edges, or holds one of
    /// `;,[]{}` or a control character.
    #[error("{name:?} has the invalid set item {item:?}")]
    BadItem {
        /// The resource name.
        name: String,
        /// The item as given.
        item: String,
    },
    /// A name is already used by a different kind of value (scalar, ranges or
    /// set) in the same bundle; Mesos forbids that too.
    #[error("{name:?} is already used by a different kind of value")]
    KindMismatch {
        /// The name used twice.
        name: String,
    },
    /// A resource names a role (`cpus(web):4`); Corral has no reservations
    /// yet, so only the default role `*` is accepted.
    #[error("{name:?} is reserved for role {role:?}; only the role \"*\" is supported")]
    UnsupportedRole {
        /// The resource name.
        name: String,
        /// The role as given between the parentheses.
        role: String,
    },
    /// An attribute's text value would not read back as the same text (it is
    /// empty, has whitespace at its edges, holds `;`, starts with a bracket
    /// or reads as a number).
    #[error("attribute {name:?} has the text {text:?}, which would not read back as text")]
    BadText {
        /// The attribute name.
        name: String,
        /// The text as given.
        text: String,
    },
}
