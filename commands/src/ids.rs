//! Identifiers the command layer hands out: the unguessable id of a pending action (carried by
//! button custom ids) and the short request id people see in chat and in the audit trail.

use std::fmt;
use std::str::FromStr;

/// The id of a pending action: 128 random bits, written as 32 lowercase hex characters.
///
/// It is the only thing a button or modal custom id carries, so it must be unguessable: knowing
/// one pending id tells nothing about another.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PendingId([u8; 16]);

impl PendingId {
    /// A fresh id from the operating system's random source (through `rand`'s thread RNG, a
    /// CSPRNG seeded from the OS).
    pub fn random() -> Self {
        Self(rand::random())
    }

    /// The short request id derived from this pending id: its first 8 hex characters.
    pub fn request_id(&self) -> RequestId {
        RequestId([self.0[0], self.0[1], self.0[2], self.0[3]])
    }
}

impl fmt::Display for PendingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PendingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PendingId({self})")
    }
}

/// A string that is not a pending id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a pending action id (32 lowercase hex characters)")]
pub struct InvalidPendingId;

impl FromStr for PendingId {
    type Err = InvalidPendingId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        if bytes.len() != 32 {
            return Err(InvalidPendingId);
        }
        let mut out = [0u8; 16];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = hex_value(pair[0]).ok_or(InvalidPendingId)?;
            let lo = hex_value(pair[1]).ok_or(InvalidPendingId)?;
            out[i] = hi << 4 | lo;
        }
        Ok(Self(out))
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// The short id of a request, shown in chat replies and written in every audit event of that
/// request (8 hex characters). Not a secret and not unique across all time: it correlates.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId([u8; 4]);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({self})")
    }
}

/// What a button (or the modal that follows one) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ButtonAction {
    /// The requester confirms the planned action.
    Confirm,
    /// The requester cancels it.
    Cancel,
    /// An approver approves it.
    Approve,
    /// An approver denies it.
    Deny,
    /// The requester opens the password prompt of a notification (then submits it).
    EnterPassword,
}

impl ButtonAction {
    const ALL: [ButtonAction; 5] = [
        Self::Confirm,
        Self::Cancel,
        Self::Approve,
        Self::Deny,
        Self::EnterPassword,
    ];

    /// The short word used in custom ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
            Self::Approve => "approve",
            Self::Deny => "deny",
            Self::EnterPassword => "password",
        }
    }
}

/// The custom id of a button or modal: `pd:<action>:<pending id>`. It carries nothing else —
/// no target, no option, never a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ButtonId {
    /// What pressing it does.
    pub action: ButtonAction,
    /// The pending action it acts on.
    pub pending: PendingId,
}

impl fmt::Display for ButtonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pd:{}:{}", self.action.as_str(), self.pending)
    }
}

/// A custom id that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Passdesk button id")]
pub struct InvalidButtonId;

impl FromStr for ButtonId {
    type Err = InvalidButtonId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, ':');
        let (Some("pd"), Some(action), Some(pending)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidButtonId);
        };
        let action = ButtonAction::ALL
            .into_iter()
            .find(|a| a.as_str() == action)
            .ok_or(InvalidButtonId)?;
        let pending = pending.parse().map_err(|_| InvalidButtonId)?;
        Ok(Self { action, pending })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_ids_round_trip_and_differ() {
        let a = PendingId::random();
        let b = PendingId::random();
        assert_ne!(a, b);
        assert_eq!(a.to_string().len(), 32);
        assert_eq!(a.to_string().parse::<PendingId>(), Ok(a));
        assert!(a.to_string().starts_with(&a.request_id().to_string()));
    }

    #[test]
    fn pending_id_parsing_is_strict() {
        for bad in ["", "00", &"A".repeat(32), &"g".repeat(32), &"0".repeat(33)] {
            assert_eq!(bad.parse::<PendingId>(), Err(InvalidPendingId), "{bad}");
        }
    }

    #[test]
    fn button_ids_round_trip() {
        let pending = PendingId::random();
        for action in ButtonAction::ALL {
            let id = ButtonId { action, pending };
            assert_eq!(id.to_string().parse::<ButtonId>(), Ok(id));
        }
        for bad in [
            "",
            "pd",
            "pd:confirm",
            "xx:confirm:00000000000000000000000000000000",
            "pd:explode:00000000000000000000000000000000",
            "pd:confirm:0000",
        ] {
            assert_eq!(bad.parse::<ButtonId>(), Err(InvalidButtonId), "{bad}");
        }
    }
}
