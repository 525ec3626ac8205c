//! The built-in `.proto` subset files (`http/proto/`), read into the
//! tables the transcoder walks: each message's fields by number, with
//! their names and types, and each enum's values. The files are the one
//! source of the wire's names and numbers; this reads only the grammar
//! they use (proto2 messages, nested messages and enums, field options),
//! and any other construct is an error the unit tests catch.

use std::collections::BTreeMap;

/// The `.proto` files, each with the package-relative path it is
/// imported by.
const FILES: [(&str, &str); 3] = [
    (
        "mesos/v1/mesos.proto",
        include_str!("../../../proto/mesos/v1/mesos.proto"),
    ),
    (
        "mesos/v1/scheduler/scheduler.proto",
        include_str!("../../../proto/mesos/v1/scheduler/scheduler.proto"),
    ),
    (
        "mesos/v1/executor/executor.proto",
        include_str!("../../../proto/mesos/v1/executor/executor.proto"),
    ),
];

/// A field's protobuf scalar type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Bool,
    String,
    Bytes,
}

/// What a field holds: a scalar, or a message or enum by full name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Scalar(Scalar),
    Message(String),
    Enum(String),
}

/// One field of a message.
#[derive(Clone, Debug)]
pub(super) struct Field {
    pub name: String,
    pub number: u32,
    pub repeated: bool,
    pub kind: Kind,
}

/// A message's fields, in number order (the order they are written in).
#[derive(Debug, Default)]
pub(super) struct Message {
    pub fields: Vec<Field>,
}

impl Message {
    /// The field numbered `number`, if the subset has it.
    pub fn field(&self, number: u64) -> Option<&Field> {
        self.fields.iter().find(|f| u64::from(f.number) == number)
    }
}

/// An enum's values: name and number.
#[derive(Debug, Default)]
pub(super) struct Enum {
    pub values: Vec<(String, i32)>,
}

impl Enum {
    /// The name of `number`.
    pub fn name(&self, number: i32) -> Option<&str> {
        self.values
            .iter()
            .find(|(_, n)| *n == number)
            .map(|(name, _)| name.as_str())
    }

    /// The number of `name`.
    pub fn number(&self, name: &str) -> Option<i32> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, n)| *n)
    }
}

/// Every message and enum of the files, by full name (`mesos.v1.Offer`).
#[derive(Debug, Default)]
pub(super) struct Schema {
    pub messages: BTreeMap<String, Message>,
    pub enums: BTreeMap<String, Enum>,
}

/// A field as written, its type not yet resolved.
struct RawField {
    scope: String,
    message: String,
    field: Field,
    type_name: String,
}

impl Schema {
    /// The built-in files, read.
    pub fn builtin() -> Result<Schema, String> {
        Schema::read(&FILES)
    }

    /// `files` (path, text), read as one set: a type may be used in a file
    /// before the file that declares it.
    fn read(files: &[(&str, &str)]) -> Result<Schema, String> {
        let mut schema = Schema::default();
        let mut raw = Vec::new();
        for &(path, text) in files {
            Parser::new(text)
                .file(&mut schema, &mut raw)
                .map_err(|e| format!("{path}: {e}"))?;
        }
        for r in raw {
            let kind = schema.resolve(&r.type_name, &r.scope).ok_or_else(|| {
                format!(
                    "{}.{}: unknown type {}",
                    r.message, r.field.name, r.type_name
                )
            })?;
            let fields = &mut schema
                .messages
                .get_mut(&r.message)
                .ok_or_else(|| format!("{}: not declared", r.message))?
                .fields;
            if fields.iter().any(|f| f.number == r.field.number) {
                return Err(format!("{}: field {} twice", r.message, r.field.number));
            }
            fields.push(Field { kind, ..r.field });
        }
        for m in schema.messages.values_mut() {
            m.fields.sort_by_key(|f| f.number);
        }
        Ok(schema)
    }

    /// The type `name` as written in `scope` (a message or package),
    /// looked up from the innermost scope outwards, as protoc does.
    fn resolve(&self, name: &str, scope: &str) -> Option<Kind> {
        if let Some(s) = scalar(name) {
            return Some(Kind::Scalar(s));
        }
        if let Some(full) = name.strip_prefix('.') {
            return self.kind_of(full);
        }
        let mut scope = scope;
        loop {
            let full = if scope.is_empty() {
                name.to_owned()
            } else {
                format!("{scope}.{name}")
            };
            if let Some(k) = self.kind_of(&full) {
                return Some(k);
            }
            if scope.is_empty() {
                return None;
            }
            scope = scope.rsplit_once('.').map_or("", |(outer, _)| outer);
        }
    }

    fn kind_of(&self, full: &str) -> Option<Kind> {
        if self.messages.contains_key(full) {
            Some(Kind::Message(full.to_owned()))
        } else if self.enums.contains_key(full) {
            Some(Kind::Enum(full.to_owned()))
        } else {
            None
        }
    }
}

fn scalar(name: &str) -> Option<Scalar> {
    Some(match name {
        "double" => Scalar::Double,
        "float" => Scalar::Float,
        "int32" => Scalar::Int32,
        "int64" => Scalar::Int64,
        "uint32" => Scalar::Uint32,
        "uint64" => Scalar::Uint64,
        "bool" => Scalar::Bool,
        "string" => Scalar::String,
        "bytes" => Scalar::Bytes,
        _ => return None,
    })
}

/// Splits a file into words, numbers, strings and punctuation, without
/// comments.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' => {
                let mut s = String::from('"');
                for c in chars.by_ref() {
                    s.push(c);
                    if c == '"' {
                        break;
                    }
                }
                out.push(s);
            }
            c if c.is_whitespace() => {}
            c if c.is_ascii_alphanumeric() || "_.-+".contains(c) => {
                let mut word = String::from(c);
                while let Some(&d) = chars.peek() {
                    if !(d.is_ascii_alphanumeric() || "_.-+".contains(d)) {
                        break;
                    }
                    word.push(d);
                    chars.next();
                }
                out.push(word);
            }
            c => out.push(c.to_string()),
        }
    }
    out
}

struct Parser {
    tokens: Vec<String>,
    at: usize,
}

impl Parser {
    fn new(text: &str) -> Parser {
        Parser {
            tokens: tokens(text),
            at: 0,
        }
    }

    fn next(&mut self) -> Result<String, String> {
        let t = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or_else(|| "unexpected end of file".to_owned())?;
        self.at += 1;
        Ok(t)
    }

    fn expect(&mut self, want: &str) -> Result<(), String> {
        let got = self.next()?;
        if got == want {
            Ok(())
        } else {
            Err(format!("expected {want:?}, found {got:?}"))
        }
    }

    /// Skips to the end of the statement (`;`).
    fn skip_statement(&mut self) -> Result<(), String> {
        while self.next()? != ";" {}
        Ok(())
    }

    /// Skips `[...]` options, if there are any, then the `;`.
    fn end_of_declaration(&mut self) -> Result<(), String> {
        let t = self.next()?;
        if t == "[" {
            while self.next()? != "]" {}
            self.expect(";")
        } else if t == ";" {
            Ok(())
        } else {
            Err(format!("expected \";\", found {t:?}"))
        }
    }

    fn number<T: std::str::FromStr>(&mut self) -> Result<T, String> {
        let t = self.next()?;
        t.parse().map_err(|_| format!("{t:?} is not a number"))
    }

    fn file(&mut self, schema: &mut Schema, raw: &mut Vec<RawField>) -> Result<(), String> {
        let mut package = String::new();
        while self.at < self.tokens.len() {
            match self.next()?.as_str() {
                "syntax" | "import" | "option" => self.skip_statement()?,
                "package" => {
                    package = self.next()?;
                    self.expect(";")?;
                }
                "message" => self.message(&package, schema, raw)?,
                "enum" => self.enumeration(&package, schema)?,
                other => return Err(format!("unexpected {other:?}")),
            }
        }
        Ok(())
    }

    fn message(
        &mut self,
        scope: &str,
        schema: &mut Schema,
        raw: &mut Vec<RawField>,
    ) -> Result<(), String> {
        let full = format!("{scope}.{}", self.next()?);
        if schema
            .messages
            .insert(full.clone(), Message::default())
            .is_some()
        {
            return Err(format!("{full} declared twice"));
        }
        self.expect("{")?;
        loop {
            let t = self.next()?;
            match t.as_str() {
                "}" => return Ok(()),
                "message" => self.message(&full, schema, raw)?,
                "enum" => self.enumeration(&full, schema)?,
                "option" => self.skip_statement()?,
                "optional" | "required" | "repeated" => {
                    let type_name = self.next()?;
                    let name = self.next()?;
                    self.expect("=")?;
                    let number = self.number()?;
                    self.end_of_declaration()?;
                    raw.push(RawField {
                        scope: full.clone(),
                        message: full.clone(),
                        field: Field {
                            name,
                            number,
                            repeated: t == "repeated",
                            // Replaced once every file is read: a type
                            // may be declared after its use.
                            kind: Kind::Scalar(Scalar::Bool),
                        },
                        type_name,
                    });
                }
                other => return Err(format!("{full}: unexpected {other:?}")),
            }
        }
    }

    fn enumeration(&mut self, scope: &str, schema: &mut Schema) -> Result<(), String> {
        let full = format!("{scope}.{}", self.next()?);
        self.expect("{")?;
        let mut e = Enum::default();
        loop {
            let t = self.next()?;
            match t.as_str() {
                "}" => break,
                "option" => self.skip_statement()?,
                _ => {
                    self.expect("=")?;
                    let number = self.number()?;
                    self.end_of_declaration()?;
                    e.values.push((t, number));
                }
            }
        }
        if schema.enums.insert(full.clone(), e).is_some() {
            return Err(format!("{full} declared twice"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_files_read_and_every_type_resolves() {
        let s = Schema::builtin().expect("the .proto files read");
        let call = &s.messages["mesos.v1.scheduler.Call"];
        let accept = call.field(4).expect("field 4");
        assert_eq!(accept.name, "accept");
        assert_eq!(
            accept.kind,
            Kind::Message("mesos.v1.scheduler.Call.Accept".into())
        );
        // Resolved outwards: Call.Accept's `Offer.Operation` is mesos.v1's.
        let ops = s.messages["mesos.v1.scheduler.Call.Accept"]
            .field(2)
            .expect("operations");
        assert!(ops.repeated);
        assert_eq!(ops.kind, Kind::Message("mesos.v1.Offer.Operation".into()));
        let kind = s.messages["mesos.v1.Resource"].field(2).expect("type");
        assert_eq!(kind.kind, Kind::Enum("mesos.v1.Value.Type".into()));
        assert_eq!(
            s.enums["mesos.v1.TaskState"].number("TASK_STAGING"),
            Some(6)
        );
        assert_eq!(
            s.enums["mesos.v1.scheduler.Call.Type"].name(17),
            Some("UPDATE_FRAMEWORK")
        );
    }

    #[test]
    fn what_the_reader_does_not_know_is_an_error() {
        for bad in [
            "package p; message M { optional Nope x = 1; }",
            "package p; message M { optional string x = 1; optional bool y = 1; }",
            "package p; message M { map<string, string> m = 1; }",
            "package p; message M { optional string x = one; }",
            "package p; message M { optional string x = 1 }",
        ] {
            assert!(Schema::read(&[("bad.proto", bad)]).is_err(), "{bad}");
        }
    }
}
