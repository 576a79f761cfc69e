#![doc = include_str!("../README.md")]

pub mod http;
pub mod identity_manager;
pub mod jumpcloud;
pub mod mail;
pub mod retry;
