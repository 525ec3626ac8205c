//! The kinds of containerizer and the `--containerizers` list: names,
//! parsing, and the checks a list must pass. (What a containerizer can run
//! and the Docker check are in [`crate::containerizers`].)

use std::fmt;
use std::str::FromStr;

/// A way to run tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Containerizer {
    /// Plain processes in their own process group (tasks without a
    /// container).
    Process,
    /// Docker containers through the Docker Engine API (tasks with a
    /// DOCKER container description).
    Docker,
}

impl Containerizer {
    /// Its name in `--containerizers`.
    pub fn name(self) -> &'static str {
        match self {
            Containerizer::Process => "process",
            Containerizer::Docker => "docker",
        }
    }
}

impl fmt::Display for Containerizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--containerizers` value that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContainerizersError {
    /// An unknown name.
    #[error("unknown containerizer '{0}' (known: docker, process)")]
    Unknown(String),
    /// No name at all.
    #[error("no containerizer named (give e.g. docker,process)")]
    Empty,
    /// A name listed twice.
    #[error("containerizer '{0}' is listed twice")]
    Duplicate(Containerizer),
}

impl FromStr for Containerizer {
    type Err = ContainerizersError;

    fn from_str(s: &str) -> Result<Containerizer, ContainerizersError> {
        match s.trim() {
            "process" | "mesos" => Ok(Containerizer::Process),
            "docker" => Ok(Containerizer::Docker),
            other => Err(ContainerizersError::Unknown(other.to_owned())),
        }
    }
}

/// Parses `docker,process` (order is preference, as in Mesos; `mesos` is
/// accepted as Mesos's name for `process`).
pub fn parse_containerizers(text: &str) -> Result<Vec<Containerizer>, ContainerizersError> {
    let list = text
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect::<Result<Vec<Containerizer>, _>>()?;
    check_containerizers(&list)?;
    Ok(list)
}

/// Refuses an empty list and duplicates.
pub fn check_containerizers(list: &[Containerizer]) -> Result<(), ContainerizersError> {
    if list.is_empty() {
        return Err(ContainerizersError::Empty);
    }
    for (i, c) in list.iter().enumerate() {
        if list[..i].contains(c) {
            return Err(ContainerizersError::Duplicate(*c));
        }
    }
    Ok(())
}

/// `docker,process`.
pub fn containerizers_text(list: &[Containerizer]) -> String {
    list.iter().map(|c| c.name()).collect::<Vec<_>>().join(",")
}
