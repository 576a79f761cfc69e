//! Identity Manager client and password notification. (Being built: see issue 4.)
