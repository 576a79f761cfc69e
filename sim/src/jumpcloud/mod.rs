//! JumpCloud simulator. (Being built: see issue 2.)
