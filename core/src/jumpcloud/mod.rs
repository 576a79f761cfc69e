//! JumpCloud console API client. (Being built: see issue 2.)
