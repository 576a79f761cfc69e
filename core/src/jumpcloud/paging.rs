//! The stop rule for `limit`/`skip` listings, as a small pure state machine.
//!
//! JumpCloud announces a total (`totalCount` in v1 bodies, `x-total-count` on v2 lists) but the
//! vendor's own module once returned 199 of 530 group members, so the client does not trust
//! either the total or a short page alone:
//! - an empty page ends the listing;
//! - a short page, or reaching `skip >= total`, ends it only once the distinct records collected
//!   cover the announced total (or no total was announced); otherwise the client keeps asking
//!   until a page comes back empty;
//! - the number of pages is bounded by `ceil(total / limit) + MARGIN` (recomputed from the latest
//!   total), or by [`UNBOUNDED_CAP`] when no total was announced, so a misbehaving server cannot
//!   keep the client looping.

use super::route::PAGE_SIZE;

/// Extra pages allowed beyond what the announced total needs.
const MARGIN: u64 = 3;

/// The most pages fetched when the server announces no total (a million records at 100 a page).
const UNBOUNDED_CAP: u64 = 10_000;

/// What to do after a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Fetch the next page at this offset.
    Fetch { skip: u64 },
    /// The listing is complete.
    Done,
    /// The bound was reached while pages still came: give up.
    Runaway { pages: u64 },
}

/// Where a listing stands.
#[derive(Debug, Clone, Default)]
pub(crate) struct Paging {
    skip: u64,
    pages: u64,
    total: Option<u64>,
}

impl Paging {
    /// The offset of the next page to fetch.
    pub(crate) fn skip(&self) -> u64 {
        self.skip
    }

    /// The total the server announced last, if any.
    pub(crate) fn total(&self) -> Option<u64> {
        self.total
    }

    /// Records a page of `len` records, after which the caller holds `distinct` distinct records;
    /// `total` is the count the server announced with this page.
    pub(crate) fn advance(&mut self, len: usize, distinct: usize, total: Option<u64>) -> Step {
        let len = len as u64;
        let distinct = distinct as u64;
        self.pages += 1;
        if total.is_some() {
            self.total = total;
        }
        if len == 0 {
            return Step::Done;
        }
        self.skip += len;
        let covered = self.total.is_none_or(|t| distinct >= t);
        let short = len < PAGE_SIZE;
        let past_total = self.total.is_some_and(|t| self.skip >= t);
        if covered && (short || past_total) {
            return Step::Done;
        }
        let max_pages = self
            .total
            .map_or(UNBOUNDED_CAP, |t| t.div_ceil(PAGE_SIZE) + MARGIN);
        if self.pages >= max_pages {
            return Step::Runaway { pages: self.pages };
        }
        Step::Fetch { skip: self.skip }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs pages of the given sizes (each adding `new` distinct records) and returns the steps.
    fn run(pages: &[(usize, usize, Option<u64>)]) -> Vec<Step> {
        let mut p = Paging::default();
        let mut distinct = 0;
        pages
            .iter()
            .map(|&(len, new, total)| {
                distinct += new;
                p.advance(len, distinct, total)
            })
            .collect()
    }

    #[test]
    fn stop_rule() {
        use Step::*;
        // 530 members, 100 a page: six pages, the last one short.
        assert_eq!(
            run(&[
                (100, 100, Some(530)),
                (100, 100, Some(530)),
                (100, 100, Some(530)),
                (100, 100, Some(530)),
                (100, 100, Some(530)),
                (30, 30, Some(530)),
            ]),
            vec![
                Fetch { skip: 100 },
                Fetch { skip: 200 },
                Fetch { skip: 300 },
                Fetch { skip: 400 },
                Fetch { skip: 500 },
                Done
            ]
        );
        // Exactly 200: the second full page reaches the total.
        assert_eq!(
            run(&[(100, 100, Some(200)), (100, 100, Some(200))]),
            vec![Fetch { skip: 100 }, Done]
        );
        // No total: a full page asks for more, a short or empty one ends.
        assert_eq!(
            run(&[(100, 100, None), (100, 100, None), (0, 0, None)]),
            vec![Fetch { skip: 100 }, Fetch { skip: 200 }, Done]
        );
        assert_eq!(run(&[(7, 7, None)]), vec![Done]);
        // A short page before the total is covered (the #239 shape): keep asking.
        assert_eq!(
            run(&[
                (100, 100, Some(530)),
                (99, 99, Some(530)),
                (0, 0, Some(530))
            ]),
            vec![Fetch { skip: 100 }, Fetch { skip: 199 }, Done]
        );
        // Duplicates across pages: skip reaches the total, distinct records do not.
        assert_eq!(
            run(&[
                (100, 100, Some(150)),
                (50, 40, Some(150)),
                (10, 10, Some(150))
            ]),
            vec![Fetch { skip: 100 }, Fetch { skip: 150 }, Done]
        );
        // Empty first page.
        assert_eq!(run(&[(0, 0, Some(0))]), vec![Done]);
    }

    #[test]
    fn runaway_is_bounded() {
        // The server claims 150 records but never stops sending full pages of repeats.
        let mut p = Paging::default();
        let mut steps = 0;
        let last = loop {
            steps += 1;
            match p.advance(100, 100, Some(150)) {
                Step::Fetch { .. } => continue,
                other => break other,
            }
        };
        // ceil(150 / 100) + 3 = 5 pages.
        assert_eq!(last, Step::Runaway { pages: 5 });
        assert_eq!(steps, 5);
    }
}
