#![doc = include_str!("../README.md")]

pub mod audit;
pub mod catalogue;
pub mod ids;
pub mod executor;
pub mod invocation;
pub mod parse;
pub mod request;

pub use catalogue::{
    Choice, CommandBody, CommandSpec, OptionKind, OptionSpec, SubcommandSpec, catalogue, help_text,
};
pub use invocation::{Actor, Invocation, Platform};
pub use parse::{UsageError, UsageProblem, parse, split_text};
pub use request::{CommandName, Request, ResetTarget, UserRef};
