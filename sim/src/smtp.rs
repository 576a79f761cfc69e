//! SMTP sink. (Being built: see issue 4.)
