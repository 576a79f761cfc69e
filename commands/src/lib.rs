#![doc = include_str!("../README.md")]

pub mod audit;
pub mod catalogue;
pub mod engine;
pub mod error;
pub mod executor;
pub mod ids;
pub mod invocation;
pub mod parse;
pub mod pending;
pub mod plan;
pub mod policy;
pub mod reply;
pub mod request;

pub use catalogue::{
    Choice, CommandBody, CommandSpec, OptionKind, OptionSpec, SubcommandSpec, catalogue, help_text,
};
pub use engine::{
    Engine, EngineError, EngineEvent, EngineParts, JumpCloudClients, Press, Response, Suggestion,
};
pub use error::{CommandError, error_reply};
pub use invocation::{Actor, Invocation, Platform};
pub use parse::{UsageError, UsageProblem, parse, split_text};
pub use plan::{
    ExecuteContext, Plan, PlanContext, PlannedAction, PlannedNotification, PlannedTarget,
    SkipReason, TargetOutcome, execute_notification, execute_target, plan, render_plan,
    render_report,
};
pub use reply::{Button, ButtonStyle, Field, Reply, Table, Tone, Visibility};
pub use request::{CommandName, Request, ResetTarget, UserRef};
