//! Identity Manager simulator. (Being built: see issue 4.)
