#![doc = include_str!("../README.md")]

pub mod demo;
pub mod discord;
pub mod identity_manager;
pub mod jumpcloud;
pub mod slack;
pub mod smtp;
